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

export function registerSeries(seed: number): void {
  for (let m = 0; m < SERIES.counters; m++) {
    const counter = new Counter({ name: `bench_requests_${m}_total`, help: `Requests of kind ${m}`, labelNames: ['route', 'method'] });
    for (let i = 0; i < SERIES.labelSets; i++) counter.inc(labels(i), seed + i + m);
  }
  for (let m = 0; m < SERIES.gauges; m++) {
    const gauge = new Gauge({ name: `bench_inflight_${m}`, help: `In flight of kind ${m}`, labelNames: ['route', 'method'] });
    for (let i = 0; i < SERIES.labelSets; i++) gauge.set(labels(i), (seed * 7 + i) % 13);
  }
  const buckets = Array.from({ length: SERIES.buckets }, (_, i) => 0.005 * 2 ** i);
  for (let m = 0; m < SERIES.histograms; m++) {
    const histogram = new Histogram({ name: `bench_latency_${m}_seconds`, help: `Latency of kind ${m}`, labelNames: ['route', 'method'], buckets });
    for (let i = 0; i < SERIES.histogramLabelSets; i++) {
      for (let k = 0; k < 20; k++) histogram.observe(labels(i), ((seed + i + k) % 40) * 0.05);
    }
  }
}
