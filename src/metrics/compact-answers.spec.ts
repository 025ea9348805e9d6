import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { AggregateState } from './aggregate-state.js';
import { parseExposition } from './exposition.spec-helper.js';
import { LayoutStore } from './layout-store.js';
import { mergeAggregate, mergePerWorker } from './metrics-merge.js';
import { isCompactMetrics, MetricsSource, type CompactMetrics } from './metrics-source.js';
import { TextReceiver, TextSender } from './rendered-text.js';
import { toWorkerMetrics, type MetricFamilyJson, type WorkerMetrics } from './worker-metrics.js';

/** What crosses the IPC channel: JSON, as the cluster's messages are serialized by default. */
const wire = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** One worker with every kind of metric, some values JSON cannot carry, and label values to escape. */
function workerRegistry(seed: number) {
  const registry = new Registry();
  const requests = new Counter({ name: 'req_total', help: 'Requests\nby route', labelNames: ['route', 'method'], registers: [registry] });
  requests.inc({ route: '/a', method: 'GET' }, seed);
  requests.inc({ method: 'POST', route: '/b"x\\y' }, 2);
  const inflight = new Gauge({ name: 'inflight', help: 'In flight', labelNames: ['pool'], registers: [registry] });
  inflight.set({ pool: 'db' }, seed * 1.5);
  inflight.set({ pool: 'odd' }, seed === 1 ? NaN : Infinity);
  const latency = new Histogram({ name: 'lat_seconds', help: 'Latency', labelNames: ['route'], buckets: [0.1, 1], registers: [registry] });
  latency.observe({ route: '/a' }, 0.05 * seed);
  latency.observe({ route: '/b' }, 2);
  const sizes = new Summary({ name: 'size_bytes', help: 'Sizes', percentiles: [0.5], registers: [registry] });
  sizes.observe(10 * seed);
  new Gauge({ name: 'up', help: 'Up', registers: [registry] }).set(1);
  return { registry, requests, inflight, latency };
}

const json = async (registry: Registry) => (await registry.getMetricsAsJSON()) as MetricFamilyJson[];

/** A worker (its source) and the asking worker's store of its layout, with the answers on the wire. */
class Link {
  readonly source: MetricsSource;
  answers: CompactMetrics[] = [];

  constructor(
    readonly slot: number,
    readonly pid: number,
    readonly registry: Registry,
    private readonly store: LayoutStore,
  ) {
    this.source = new MetricsSource(pid);
  }

  async scrape(): Promise<WorkerMetrics> {
    const answer = wire(this.source.answer(await json(this.registry), this.store.held(this.slot) ?? undefined));
    this.answers.push(answer);
    expect(isCompactMetrics(answer)).toBe(true);
    return this.store.expand(this.slot, answer)!;
  }
}

describe('compact answers', () => {
  it('give byte for byte the text of whole answers, in both modes, scrape after scrape', async () => {
    const workers = [workerRegistry(1), workerRegistry(2)];
    const perWorker = new LayoutStore('slot');
    const aggregate = new LayoutStore();
    const p = workers.map((w, slot) => new Link(slot, 100 + slot, w.registry, perWorker));
    const a = workers.map((w, slot) => new Link(slot, 100 + slot, w.registry, aggregate));
    for (let scrape = 0; scrape < 3; scrape++) {
      const whole = await Promise.all(
        workers.map(async (w, slot) => toWorkerMetrics(100 + slot, await json(w.registry), { name: 'slot', value: slot })),
      );
      const expected = mergePerWorker(whole.map((metrics, slot) => ({ slot, metrics }))).text;
      expect(mergePerWorker(await Promise.all(p.map(async (link) => ({ slot: link.slot, metrics: await link.scrape() })))).text).toBe(expected);

      const samples = await Promise.all(workers.map(async (w, slot) => toWorkerMetrics(100 + slot, await json(w.registry))));
      const expectedSum = mergeAggregate(samples.map((metrics, slot) => ({ slot, metrics }))).text;
      expect(mergeAggregate(await Promise.all(a.map(async (link) => ({ slot: link.slot, metrics: await link.scrape() })))).text).toBe(expectedSum);
      workers[0]!.requests.inc({ route: '/a', method: 'GET' });
    }
    // The layout travelled once per worker; later answers carried values only.
    expect(p[0]!.answers.map((answer) => answer.families !== undefined)).toEqual([true, false, false]);
  });

  it('show a changed value, a new label set, a removed series and a reset at the next scrape', async () => {
    const { registry, requests, inflight, latency } = workerRegistry(1);
    const link = new Link(0, 7, registry, new LayoutStore('slot'));
    const scrape = async () => parseExposition(mergePerWorker([{ slot: 0, metrics: await link.scrape() }]).text);
    const sameAsWhole = async () =>
      expect(mergePerWorker([{ slot: 0, metrics: await link.scrape() }]).text).toBe(
        mergePerWorker([{ slot: 0, metrics: toWorkerMetrics(7, await json(registry), { name: 'slot', value: 0 }) }]).text,
      );

    expect((await scrape()).value('req_total', { route: '/a', method: 'GET', slot: '0' })).toBe(1);
    requests.inc({ route: '/a', method: 'GET' }, 4);
    expect((await scrape()).value('req_total', { route: '/a', method: 'GET', slot: '0' })).toBe(5);
    expect(link.answers.at(-1)!.families).toBeUndefined(); // a value changed: no layout sent

    requests.inc({ route: '/c', method: 'GET' });
    latency.observe({ route: '/c' }, 0.5);
    const added = await scrape();
    expect(link.answers.at(-1)!.families).toBeDefined();
    expect(added.value('req_total', { route: '/c', method: 'GET', slot: '0' })).toBe(1);
    expect(added.value('lat_seconds_bucket', { route: '/c', le: '1', slot: '0' })).toBe(1);
    await sameAsWhole();

    inflight.remove({ pool: 'db' });
    const removed = await scrape();
    expect(removed.find('inflight', { pool: 'db' })).toEqual([]);
    expect(removed.value('inflight', { pool: 'odd', slot: '0' })).toBeNaN();
    await sameAsWhole();

    registry.resetMetrics();
    const reset = await scrape();
    expect(reset.find('req_total')).toEqual([]);
    expect(reset.value('up', { slot: '0' })).toBe(0);
    await sameAsWhole();
    requests.inc({ route: '/a', method: 'GET' });
    expect((await scrape()).value('req_total', { route: '/a', method: 'GET', slot: '0' })).toBe(1);
  });

  it('show the same changes in aggregate mode, through the aggregating worker’s state', async () => {
    const one = workerRegistry(1);
    const two = workerRegistry(2);
    const store = new LayoutStore();
    const links = [new Link(0, 10, one.registry, store), new Link(1, 11, two.registry, store)];
    const state = new AggregateState(60_000);
    const live = new Map([
      [10, 0],
      [11, 1],
    ]);
    const scrape = async () =>
      parseExposition(state.scrape(live, await Promise.all(links.map(async (link) => ({ slot: link.slot, metrics: await link.scrape() })))).text);

    expect((await scrape()).value('req_total', { route: '/a', method: 'GET' })).toBe(3);
    one.requests.inc({ route: '/a', method: 'GET' }, 10);
    expect((await scrape()).value('req_total', { route: '/a', method: 'GET' })).toBe(13);
    two.requests.inc({ route: '/new', method: 'GET' }, 2);
    expect((await scrape()).value('req_total', { route: '/new', method: 'GET' })).toBe(2);
    two.inflight.remove({ pool: 'db' });
    expect((await scrape()).value('inflight', { pool: 'db' })).toBe(1.5);
    two.latency.reset();
    const reset = await scrape();
    expect(reset.value('lat_seconds_count', { route: '/a' })).toBe(1);
    expect(reset.value('lat_seconds_count', { route: '/b' })).toBe(1);
  });

  it('refuse values that follow a layout not held, or do not match their layout', async () => {
    const { registry } = workerRegistry(1);
    const source = new MetricsSource(3);
    const first = wire(source.answer(await json(registry), undefined));
    expect(new LayoutStore().expand(0, { ...first, families: undefined })).toBeUndefined();
    expect(isCompactMetrics({ ...first, values: first.values.slice(1) })).toBe(false);
    expect(isCompactMetrics({ ...first, values: [...first.values.slice(1), 'Infinity'] })).toBe(false);
    expect(isCompactMetrics({ ...first, families: [{ name: 'x' }] })).toBe(false);
  });
});

describe('aggregated text between workers', () => {
  it('sends the text between values once, then values and the tail, and reads back the same text', async () => {
    const registry = workerRegistry(1);
    const sender = new TextSender(5);
    const receiver = new TextReceiver();
    const round = async (tail: string) => {
      const merged = mergeAggregate([{ slot: 0, metrics: toWorkerMetrics(1, await json(registry.registry)) }]);
      const expected = merged.text + tail;
      const answer = wire(sender.answer(merged.rendered.text(tail), receiver.held() ?? undefined));
      expect(receiver.read(answer)).toBe(expected);
      return answer;
    };
    expect((await round('# one\n')).texts).toBeDefined();
    registry.requests.inc({ route: '/a', method: 'GET' });
    expect((await round('# two\n')).texts).toBeUndefined();
    registry.requests.inc({ route: '/z', method: 'GET' });
    expect((await round('# three\n')).texts).toBeDefined();
    expect(receiver.read({ layout: 'other', values: [], tail: '' })).toBeUndefined();
  });
});
