import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, type Aggregator } from 'prom-client';
import { parseExposition } from './exposition.spec-helper.js';
import { mergeAggregate, mergePerWorker, retire, type Contribution, type RetiredFamily } from './metrics-merge.js';
import { toWorkerMetrics, type WorkerMetrics } from './worker-metrics.js';

/**
 * A worker's registry, as prom-client would hold it, turned into what it answers a scrape with: lines with
 * its slot label for `per-worker` mode when given `slot`, samples for `aggregate` mode otherwise.
 */
async function worker(pid: number, build: (registry: Registry) => void, slot?: number, slotLabel = 'slot'): Promise<WorkerMetrics> {
  const registry = new Registry();
  build(registry);
  return toWorkerMetrics(pid, await registry.getMetricsAsJSON(), slot === undefined ? undefined : { name: slotLabel, value: slot });
}

const counter = (registry: Registry, inc: Record<string, number>) => {
  const c = new Counter({ name: 'hits_total', help: 'Hits', labelNames: ['route'], registers: [registry] });
  for (const [route, n] of Object.entries(inc)) c.inc({ route }, n);
};

const histogram = (registry: Registry, buckets: number[], observations: number[], route = '/a') => {
  const h = new Histogram({ name: 'latency_seconds', help: 'Latency', labelNames: ['route'], buckets, registers: [registry] });
  for (const v of observations) h.observe({ route }, v);
};

describe('mergePerWorker', () => {
  it('shows every worker’s series with its slot, under one HELP and TYPE', async () => {
    const contributions: Contribution[] = [];
    for (let slot = 0; slot < 4; slot++) contributions.push({ slot, metrics: await worker(100 + slot, (r) => counter(r, { '/a': slot + 1 }), slot) });
    const { text, errors } = mergePerWorker(contributions);
    const scrape = parseExposition(text);
    expect(errors).toEqual([]);
    expect(scrape.types.get('hits_total')).toBe('counter');
    expect(scrape.find('hits_total').map((s) => [s.labels.slot, s.value])).toEqual([
      ['0', 1],
      ['1', 2],
      ['2', 3],
      ['3', 4],
    ]);
    expect(scrape.sum('hits_total', { route: '/a' })).toBe(10);
    expect(text.match(/# TYPE hits_total/g)).toHaveLength(1);
  });

  it('lists a metric that only some workers have, in the order first seen', async () => {
    const a = await worker(1, (r) => new Gauge({ name: 'only_a', help: 'A', registers: [r] }).set(1), 0);
    const b = await worker(2, (r) => new Gauge({ name: 'only_b', help: 'B', registers: [r] }).set(2), 1);
    const scrape = parseExposition(
      mergePerWorker([
        { slot: 1, metrics: b },
        { slot: 0, metrics: a },
      ]).text,
    );
    expect([...scrape.types.keys()]).toEqual(['only_a', 'only_b']);
    expect(scrape.value('only_b', { slot: '1' })).toBe(2);
  });

  it('keeps histograms with other buckets (they are other series) but reports them', async () => {
    const a = await worker(1, (r) => histogram(r, [0.1, 1], [0.5]), 0);
    const b = await worker(2, (r) => histogram(r, [0.2, 2], [0.5]), 1);
    const { text, errors } = mergePerWorker([
      { slot: 0, metrics: a },
      { slot: 1, metrics: b },
    ]);
    expect(errors).toEqual([{ metric: 'latency_seconds', reason: 'buckets', slots: [1] }]);
    expect(parseExposition(text).find('latency_seconds_bucket', { slot: '1', le: '0.2' })).toHaveLength(1);
  });

  it('leaves out a metric whose series already have the slot label, names it, and serves the rest', async () => {
    const build = (r: Registry) => {
      new Gauge({ name: 'clash', help: 'C', labelNames: ['slot'], registers: [r] }).set({ slot: 'x' }, 1);
      counter(r, { '/a': 1 });
    };
    const { text, errors } = mergePerWorker([
      { slot: 0, metrics: await worker(1, build, 0) },
      { slot: 1, metrics: await worker(2, build, 1) },
    ]);
    expect(errors).toEqual([{ metric: 'clash', reason: 'label', slots: [0, 1] }]);
    const scrape = parseExposition(text);
    expect(scrape.find('clash')).toEqual([]);
    expect(scrape.sum('hits_total')).toBe(2);
    // Renamed, it is no clash.
    expect(mergePerWorker([{ slot: 0, metrics: await worker(1, build, 0, 'worker') }]).errors).toEqual([]);
  });

  it('leaves out the series of a worker that gives a metric another type', async () => {
    const a = await worker(1, (r) => new Counter({ name: 'm', help: 'M', registers: [r] }).inc(1), 0);
    const b = await worker(2, (r) => new Gauge({ name: 'm', help: 'M', registers: [r] }).set(5), 1);
    const { text, errors } = mergePerWorker([
      { slot: 0, metrics: a },
      { slot: 1, metrics: b },
    ]);
    expect(errors).toEqual([{ metric: 'm', reason: 'type', slots: [1] }]);
    expect(parseExposition(text).find('m')).toEqual([{ name: 'm', labels: { slot: '0' }, value: 1 }]);
  });
});

describe('mergeAggregate', () => {
  it('sums counters across workers', async () => {
    const contributions = [
      { slot: 0, metrics: await worker(1, (r) => counter(r, { '/a': 1, '/b': 10 })) },
      { slot: 1, metrics: await worker(2, (r) => counter(r, { '/a': 2 })) },
      { slot: 2, metrics: await worker(3, (r) => counter(r, { '/c': 5 })) },
    ];
    const scrape = parseExposition(mergeAggregate(contributions).text);
    expect(scrape.find('hits_total').map((s) => [s.labels.route, s.value])).toEqual([
      ['/a', 3],
      ['/b', 10],
      ['/c', 5],
    ]);
  });

  it('merges histogram buckets, sums and counts, label set by label set', async () => {
    const a = await worker(1, (r) => histogram(r, [0.1, 1], [0.05, 0.5, 5]));
    const b = await worker(2, (r) => histogram(r, [0.1, 1], [0.05, 0.05]));
    const scrape = parseExposition(
      mergeAggregate([
        { slot: 0, metrics: a },
        { slot: 1, metrics: b },
      ]).text,
    );
    expect(scrape.find('latency_seconds_bucket').map((s) => [s.labels.le, s.value])).toEqual([
      ['0.1', 3],
      ['1', 4],
      ['+Inf', 5],
    ]);
    expect(scrape.value('latency_seconds_count', { route: '/a' })).toBe(5);
    expect(scrape.value('latency_seconds_sum', { route: '/a' })).toBeCloseTo(5.65);
  });

  it('merges a histogram that nothing observed yet on the lowest slot with the others’, in both modes', async () => {
    const none = (r: Registry) =>
      new Histogram({ name: 'latency_seconds', help: 'Latency', labelNames: ['route'], buckets: [0.1, 1], registers: [r] });
    const merged = mergeAggregate([
      { slot: 0, metrics: await worker(1, none) },
      { slot: 1, metrics: await worker(2, (r) => histogram(r, [0.1, 1], [0.5])) },
      { slot: 2, metrics: await worker(3, none) },
    ]);
    expect(merged.errors).toEqual([]);
    const scrape = parseExposition(merged.text);
    expect(scrape.value('latency_seconds_bucket', { route: '/a', le: '1' })).toBe(1);
    expect(scrape.types.get('latency_seconds')).toBe('histogram');
    const perWorker = mergePerWorker([
      { slot: 0, metrics: await worker(1, none, 0) },
      { slot: 1, metrics: await worker(2, (r) => histogram(r, [0.1, 1], [0.5]), 1) },
    ]);
    expect(perWorker.errors).toEqual([]);
    expect(parseExposition(perWorker.text).value('latency_seconds_count', { route: '/a', slot: '1' })).toBe(1);

    // The worker that observed exited: its totals stay next to workers that have observed nothing yet.
    const retired = new Map<string, RetiredFamily>();
    retire(retired, await worker(2, (r) => histogram(r, [0.1, 1], [0.5])));
    const kept = mergeAggregate([{ slot: 0, metrics: await worker(1, none) }], retired);
    expect(kept.staleRetired).toEqual([]);
    expect(parseExposition(kept.text).value('latency_seconds_count', { route: '/a' })).toBe(1);
  });

  it('gives an error series for histograms with other buckets, and still merges the rest', async () => {
    const a = await worker(1, (r) => {
      histogram(r, [0.1, 1], [0.5]);
      counter(r, { '/a': 1 });
    });
    const b = await worker(2, (r) => {
      histogram(r, [0.1, 2], [0.5]);
      counter(r, { '/a': 1 });
    });
    const { text, errors } = mergeAggregate([
      { slot: 0, metrics: a },
      { slot: 1, metrics: b },
    ]);
    expect(errors).toEqual([{ metric: 'latency_seconds', reason: 'buckets', slots: [1] }]);
    const scrape = parseExposition(text);
    expect(scrape.value('latency_seconds_count', { route: '/a' })).toBe(1); // slot 0's definition
    expect(scrape.value('hits_total', { route: '/a' })).toBe(2);
  });

  it('agrees with prom-client’s AggregatorRegistry on every aggregator', async () => {
    const aggregators: Aggregator[] = ['sum', 'first', 'min', 'max', 'average', 'omit'];
    const registries = [3, 8, 1].map((base) => {
      const registry = new Registry();
      for (const aggregator of aggregators) {
        const gauge = new Gauge({ name: `g_${aggregator}`, help: aggregator, labelNames: ['k'], aggregator, registers: [registry] });
        gauge.set({ k: 'x' }, base);
        gauge.set({ k: 'y' }, base * 2);
      }
      histogram(registry, [1, 10], [base]);
      return registry;
    });
    const jsons = await Promise.all(registries.map((r) => r.getMetricsAsJSON()));
    const ours = parseExposition(mergeAggregate(jsons.map((json, slot) => ({ slot, metrics: toWorkerMetrics(slot, json) }))).text);
    const theirs = parseExposition(await AggregatorRegistry.aggregate(jsons).metrics());
    expect(ours.samples).toEqual(theirs.samples);
    expect(ours.find('g_omit')).toEqual([]);
  });

  it('adds what exited workers left, and keeps a metric only they had', async () => {
    const retired = new Map<string, RetiredFamily>();
    retire(
      retired,
      await worker(9, (r) => {
        counter(r, { '/a': 100 });
        new Counter({ name: 'gone_total', help: 'Only the old worker had it', registers: [r] }).inc(7);
        new Gauge({ name: 'hits_gauge', help: 'G', registers: [r] }).set(50);
      }),
    );
    const live = await worker(1, (r) => {
      counter(r, { '/a': 1 });
      new Gauge({ name: 'hits_gauge', help: 'G', registers: [r] }).set(1);
    });
    const scrape = parseExposition(mergeAggregate([{ slot: 0, metrics: live }], retired).text);
    expect(scrape.value('hits_total', { route: '/a' })).toBe(101);
    expect(scrape.value('gone_total')).toBe(7);
    expect(scrape.value('hits_gauge')).toBe(1); // a gauge of an exited worker is gone with it
  });

  it('forgets retired totals whose histogram buckets no longer match the live workers’', async () => {
    const retired = new Map<string, RetiredFamily>();
    retire(retired, await worker(9, (r) => histogram(r, [0.1, 1], [0.5, 0.5])));
    const live = await worker(1, (r) => histogram(r, [0.5, 5], [0.2]));
    const result = mergeAggregate([{ slot: 0, metrics: live }], retired);
    expect(result.staleRetired).toEqual(['latency_seconds']);
    expect(result.errors).toEqual([]);
    expect(parseExposition(result.text).value('latency_seconds_count', { route: '/a' })).toBe(1);
  });

  it('counts only the series that never go down of a worker silent too long', async () => {
    const build = (r: Registry) => {
      counter(r, { '/a': 4 });
      new Gauge({ name: 'inflight', help: 'I', registers: [r] }).set(9);
    };
    const scrape = parseExposition(
      mergeAggregate([
        { slot: 0, metrics: await worker(1, build) },
        { slot: 1, metrics: await worker(2, build), monotonicOnly: true },
      ]).text,
    );
    expect(scrape.value('hits_total', { route: '/a' })).toBe(8);
    expect(scrape.value('inflight')).toBe(9);
  });
});
