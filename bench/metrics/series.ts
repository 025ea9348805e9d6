/**
 * The metrics every worker of both contenders holds: 5,000 series in prom-client's global registry
 * (counters, gauges and histograms with two labels), with values that differ per worker.
 */
import { Counter, Gauge, Histogram } from 'prom-client';

export const SERIES = { counters: 40, gauges: 34, histograms: 4, labelSets: 50, histogramLabelSets: 25, buckets: 10 } as const;

/** 40 x 50 counter series + 34 x 50 gauge series + 4 histograms x 25 label sets x 13 series (10 buckets, +Inf, sum, count). */
export const SERIES_COUNT =
  SERIES.counters * SERIES.labelSets + SERIES.gauges * SERIES.labelSets + SERIES.histograms * SERIES.histogramLabelSets * (SERIES.buckets + 3);

const labels = (i: number) => ({ route: `/api/v1/resource-${i}`, method: i % 2 ? 'GET' : 'POST' });

/**
 * With BENCH_CHURN_MS set, every series changes that often (counters and histograms grow, gauges move), so
 * that no scrape finds a value it already saw: the worst case for caches keyed on values. Both contenders'
 * workers do it alike.
 */
export function registerSeries(seed: number): void {
  const counters: Counter[] = [];
  const gauges: Gauge[] = [];
  const histograms: Histogram[] = [];
  for (let m = 0; m < SERIES.counters; m++) {
    const counter = new Counter({ name: `bench_requests_${m}_total`, help: `Requests of kind ${m}`, labelNames: ['route', 'method'] });
    for (let i = 0; i < SERIES.labelSets; i++) counter.inc(labels(i), seed + i + m);
    counters.push(counter);
  }
  for (let m = 0; m < SERIES.gauges; m++) {
    const gauge = new Gauge({ name: `bench_inflight_${m}`, help: `In flight of kind ${m}`, labelNames: ['route', 'method'] });
    for (let i = 0; i < SERIES.labelSets; i++) gauge.set(labels(i), (seed * 7 + i) % 13);
    gauges.push(gauge);
  }
  const buckets = Array.from({ length: SERIES.buckets }, (_, i) => 0.005 * 2 ** i);
  for (let m = 0; m < SERIES.histograms; m++) {
    const histogram = new Histogram({ name: `bench_latency_${m}_seconds`, help: `Latency of kind ${m}`, labelNames: ['route', 'method'], buckets });
    for (let i = 0; i < SERIES.histogramLabelSets; i++) {
      for (let k = 0; k < 20; k++) histogram.observe(labels(i), ((seed + i + k) % 40) * 0.05);
    }
    histograms.push(histogram);
  }
  const churnMs = Number(process.env.BENCH_CHURN_MS ?? 0);
  if (churnMs > 0) {
    let tick = 0;
    setInterval(() => {
      tick += 1;
      for (const counter of counters) for (let i = 0; i < SERIES.labelSets; i++) counter.inc(labels(i));
      for (const gauge of gauges) for (let i = 0; i < SERIES.labelSets; i++) gauge.set(labels(i), (seed + i + tick) % 13);
      for (const histogram of histograms) for (let i = 0; i < SERIES.histogramLabelSets; i++) histogram.observe(labels(i), (tick % 40) * 0.05);
    }, churnMs).unref();
  }
}
