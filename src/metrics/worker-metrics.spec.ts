import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { parseExposition } from './exposition.spec-helper.js';
import { mergeAggregate, mergePerWorker } from './metrics-merge.js';
import { labelText, toWorkerMetrics } from './worker-metrics.js';

describe('toWorkerMetrics', () => {
  it('renders each sample once: suffix, label text with sorted names, value', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'req_total', help: 'Requests', labelNames: ['route', 'method'], registers: [registry] });
    counter.inc({ route: '/a', method: 'GET' }, 2);
    counter.inc({ method: 'POST', route: '/b' });
    const { families } = toWorkerMetrics(7, await registry.getMetricsAsJSON());
    expect(families).toEqual([
      {
        name: 'req_total',
        help: 'Requests',
        type: 'counter',
        aggregator: 'sum',
        samples: ['', 'method="GET",route="/a"', 2, '', 'method="POST",route="/b"', 1],
      },
    ]);
  });

  it('keeps a histogram’s own labels with its buckets, and lists its bounds', async () => {
    const registry = new Registry();
    const histogram = new Histogram({ name: 'lat', help: 'Latency', labelNames: ['route'], buckets: [0.1, 1], registers: [registry] });
    histogram.observe({ route: '/a' }, 0.05);
    histogram.observe({ route: '/a' }, 0.5);
    const [family] = toWorkerMetrics(1, await registry.getMetricsAsJSON()).families;
    expect(family!.buckets).toBe('0.1,1,+Inf');
    expect(family!.samples).toEqual([
      '_bucket', 'le="0.1",route="/a"', 1,
      '_bucket', 'le="1",route="/a"', 2,
      '_bucket', 'le="+Inf",route="/a"', 2,
      '_sum', 'route="/a"', 0.55,
      '_count', 'route="/a"', 2,
    ]); // prettier-ignore
  });

  it('renders the same text as prom-client for every type, once given a slot', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ app: 'x' });
    new Gauge({ name: 'g', help: 'a "gauge"\nwith two lines', labelNames: ['v'], registers: [registry] }).set({ v: 'quote " back \\ nl \n' }, 3);
    new Summary({ name: 's', help: 'S', percentiles: [0.5], registers: [registry] }).observe(4);
    new Histogram({ name: 'h', help: 'H', buckets: [1], registers: [registry] }).observe(2);
    const slot = { name: 'slot', value: 0 };
    const ours = parseExposition(mergePerWorker([{ slot: 0, metrics: toWorkerMetrics(1, await registry.getMetricsAsJSON(), slot) }]).text);
    // The same series to merge in aggregate mode.
    const merged = parseExposition(mergeAggregate([{ slot: 0, metrics: toWorkerMetrics(1, await registry.getMetricsAsJSON()) }]).text);
    const theirs = parseExposition(await registry.metrics());
    expect(ours.samples).toEqual(theirs.samples.map((s) => ({ ...s, labels: { ...s.labels, slot: '0' } })));
    expect([...ours.types]).toEqual([...theirs.types]);
    expect(merged.samples).toEqual(theirs.samples);
  });

  it('carries what JSON cannot as words', async () => {
    const registry = new Registry();
    const gauge = new Gauge({ name: 'g', help: 'G', labelNames: ['k'], registers: [registry] });
    gauge.set({ k: 'nan' }, NaN);
    gauge.set({ k: 'inf' }, Infinity);
    gauge.set({ k: 'minus' }, -Infinity);
    const metrics = toWorkerMetrics(1, await registry.getMetricsAsJSON());
    expect(JSON.parse(JSON.stringify(metrics))).toEqual(metrics);
    expect(metrics.families[0]!.samples!.filter((_, i) => i % 3 === 2)).toEqual(['NaN', '+Inf', '-Inf']);
    const parsed = parseExposition(mergeAggregate([{ slot: 0, metrics }]).text);
    expect(parsed.value('g', { k: 'inf' })).toBe(Infinity);
    expect(parsed.value('g', { k: 'nan' })).toBeNaN();
    const lines = parseExposition(
      mergePerWorker([{ slot: 3, metrics: toWorkerMetrics(1, await registry.getMetricsAsJSON(), { name: 'slot', value: 3 }) }]).text,
    );
    expect(lines.value('g', { k: 'minus', slot: '3' })).toBe(-Infinity);
  });

  it('labelText escapes values and skips undefined ones', () => {
    expect(labelText({ b: 'x\\y', a: 1, c: undefined })).toBe('a="1",b="x\\\\y"');
    expect(labelText({})).toBe('');
  });
});
