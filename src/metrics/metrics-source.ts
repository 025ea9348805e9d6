import type { Aggregator } from 'prom-client';
import {
  BucketBounds,
  isSampleValue,
  kindOf,
  sampleValue,
  suffixOf,
  textOf,
  type MetricFamilyJson,
  type MetricKind,
  type SampleValue,
} from './worker-metrics.js';

/**
 * The shape of one metric family of one worker: what stays the same from one scrape to the next (names,
 * help, label text). A worker sends it only when it changed, or when the asker does not hold it.
 */
export interface FamilyLayout {
  readonly name: string;
  readonly help: string;
  readonly type: MetricKind;
  readonly aggregator: Aggregator;
  /** Histograms: the buckets' upper bounds as `le` shows them, joined by `,`. */
  readonly buckets?: string;
  /** The series as pairs: the suffix of the series name (`''`, `'_bucket'`, ...), the label text between braces. */
  readonly series: string[];
}

/**
 * What a worker answers to a scrape: the values of its series in the order of its layout, and the layout
 * itself unless the asker said it holds that one (`layout` names it). A scrape where no series was added or
 * removed carries numbers only: no label text is built, sent, relayed by the primary or parsed.
 */
export interface CompactMetrics {
  readonly pid: number;
  /** The layout these values follow: this process's pid and how many times its layout changed. */
  readonly layout: string;
  readonly families?: FamilyLayout[];
  readonly values: SampleValue[];
}

/** What a family looked like at the last scrape, to tell cheaply whether its layout changed. */
interface SeenFamily {
  readonly json: Pick<MetricFamilyJson, 'name' | 'help' | 'aggregator'> & { readonly type: MetricKind };
  /** Per sample: the label objects prom-client gave (kept to compare with the next scrape's), the series name, the text. */
  readonly labels: object[];
  readonly shared: Array<object | undefined>;
  readonly metricNames: Array<string | undefined>;
  readonly texts: string[];
  readonly layout: FamilyLayout;
}

/**
 * A worker's side of the compact answers: it walks `getMetricsAsJSON()` output, keeps the values, and
 * rebuilds a family's layout only when its series changed. prom-client hands out the same label object for
 * a counter's or gauge's series at every scrape; a histogram's are fresh objects with the same content, so a
 * shallow comparison with the last scrape's tells that the text need not be built again.
 */
export class MetricsSource {
  private seen: SeenFamily[] = [];
  private changes = 0;
  private current: FamilyLayout[] = [];

  constructor(private readonly pid: number) {}

  /** This worker's values now; with the layout unless `held` names the current one. */
  answer(metrics: readonly MetricFamilyJson[], held: string | undefined): CompactMetrics {
    const values: SampleValue[] = [];
    const seen: SeenFamily[] = [];
    let changed = false;
    let f = 0;
    for (const metric of metrics) {
      const type = kindOf(metric.type);
      if (type === undefined) continue;
      const previous = this.seen[f];
      const family = this.walk(metric, type, previous, values);
      if (family !== previous) changed = true;
      seen.push(family);
      f += 1;
    }
    if (seen.length !== this.seen.length) changed = true;
    this.seen = seen;
    if (changed) {
      this.changes += 1;
      this.current = seen.map((family) => family.layout);
    }
    const layout = `${this.pid}.${this.changes}`;
    return held === layout ? { pid: this.pid, layout, values } : { pid: this.pid, layout, families: this.current, values };
  }

  /** Pushes the family's values; returns `previous` if its layout is unchanged, else what it is now. */
  private walk(metric: MetricFamilyJson, type: MetricKind, previous: SeenFamily | undefined, values: SampleValue[]): SeenFamily {
    const samples = metric.values ?? [];
    const aggregator = metric.aggregator ?? 'sum';
    const n = samples.length;
    let same =
      previous !== undefined &&
      previous.json.name === metric.name &&
      previous.json.help === metric.help &&
      previous.json.type === type &&
      previous.json.aggregator === aggregator &&
      previous.texts.length === n;
    for (let i = 0; i < n; i++) {
      const sample = samples[i]!;
      values.push(sampleValue(sample.value));
      if (
        same &&
        (previous!.metricNames[i] !== sample.metricName ||
          !sameLabels(previous!.labels[i]!, sample.labels) ||
          !sameLabels(previous!.shared[i], sample.sharedLabels))
      ) {
        same = false;
      }
    }
    if (same) {
      // Keep the newest label objects: next time the identity check hits where prom-client reuses them.
      for (let i = 0; i < n; i++) {
        previous!.labels[i] = samples[i]!.labels;
        previous!.shared[i] = samples[i]!.sharedLabels;
      }
      return previous!;
    }
    const labels: object[] = [];
    const shared: Array<object | undefined> = [];
    const metricNames: Array<string | undefined> = [];
    const texts: string[] = [];
    const series: string[] = [];
    const bounds = new BucketBounds(type);
    const name = metric.name;
    for (const sample of samples) {
      const suffix = suffixOf(name, sample.metricName);
      bounds.see(suffix, sample.labels);
      const text = textOf(sample);
      labels.push(sample.labels);
      shared.push(sample.sharedLabels);
      metricNames.push(sample.metricName);
      texts.push(text);
      series.push(suffix, text);
    }
    const layout: FamilyLayout = {
      name,
      help: metric.help,
      type,
      aggregator,
      ...(type === 'histogram' ? { buckets: bounds.text } : {}),
      series,
    };
    return { json: { name, help: metric.help, type, aggregator }, labels, shared, metricNames, texts, layout };
  }
}

/** Same label names and values (a label object is small: a for-in beats building any key). */
function sameLabels(a: object | undefined, b: object | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let count = 0;
  for (const key in y) {
    if (x[key] !== y[key] || !(key in x)) return false;
    count += 1;
  }
  for (const _ in x) count -= 1;
  return count === 0;
}

const MAX_LAYOUT_ID = 64;

/** Checks what a worker answered, so that one worker's junk costs only its own series. */
export function isCompactMetrics(value: unknown): value is CompactMetrics {
  if (typeof value !== 'object' || value === null) return false;
  const { pid, layout, families, values } = value as Partial<CompactMetrics>;
  if (!Number.isInteger(pid) || typeof layout !== 'string' || layout.length > MAX_LAYOUT_ID || !Array.isArray(values)) return false;
  for (const v of values) if (!isSampleValue(v)) return false;
  if (families === undefined) return true;
  if (!Array.isArray(families)) return false;
  let count = 0;
  for (const family of families) {
    if (typeof family !== 'object' || family === null) return false;
    const { name, help, type, aggregator, buckets, series } = family;
    if (typeof name !== 'string' || typeof help !== 'string' || kindOf(type) === undefined || typeof aggregator !== 'string') return false;
    if (buckets !== undefined && typeof buckets !== 'string') return false;
    if (!Array.isArray(series) || series.length % 2 !== 0) return false;
    for (const part of series) if (typeof part !== 'string') return false;
    count += series.length / 2;
  }
  return count === values.length;
}
