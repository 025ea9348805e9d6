import type { Aggregator, MetricObjectWithValues, MetricValue } from 'prom-client';

/** A sample's value: a number, or the exposition format's word for what JSON cannot carry. */
export type SampleValue = number | 'NaN' | '+Inf' | '-Inf';

/** The metric types of the Prometheus text format that prom-client produces. */
export type MetricKind = 'counter' | 'gauge' | 'histogram' | 'summary';

/** One metric family of one worker, ready to travel between workers and to merge. */
export interface FamilySnapshot {
  readonly name: string;
  readonly help: string;
  readonly type: MetricKind;
  /** How `aggregate` mode combines the workers' values (prom-client's `aggregator`; `sum` by default). */
  readonly aggregator: Aggregator;
  /** Histograms: the buckets' upper bounds as `le` shows them, joined by `,`, for the merge to compare. */
  readonly buckets?: string;
  /**
   * For `aggregate` mode: samples as flat triples, the suffix of the series name (`''`, `'_bucket'`, `'_sum'`,
   * `'_count'`), the label text as the exposition format writes it between braces, the value.
   */
  readonly samples?: Array<string | SampleValue>;
  /** For `per-worker` mode: the family's sample lines, each with the worker's slot label, ready to concatenate. */
  readonly lines?: string;
  /** `per-worker` mode: some series of this family already have the slot label, so its lines were left out. */
  readonly clash?: boolean;
}

/** What one worker answers to a scrape: its metrics, and who it is. */
export interface WorkerMetrics {
  readonly pid: number;
  readonly families: FamilySnapshot[];
}

/** `per-worker` mode: the label the worker adds to each of its series. */
export interface SlotLabel {
  readonly name: string;
  readonly value: number;
}

export type JsonValue = MetricValue<string> & { metricName?: string; sharedLabels?: Record<string, string | number> };

/** A family as prom-client's `getMetricsAsJSON()` gives it (histogram values carry `metricName` and `sharedLabels`). */
export type MetricFamilyJson = Pick<MetricObjectWithValues<MetricValue<string>>, 'name' | 'help' | 'aggregator'> & {
  type: unknown;
  values?: readonly JsonValue[];
};

/**
 * Turns `getMetricsAsJSON()` output into the compact form workers send. Each worker renders its own label
 * text (in parallel with the others), so the gathering worker mostly concatenates: with `slot`, whole
 * sample lines carrying the slot label (`per-worker` mode); without, samples to merge (`aggregate` mode).
 */
export function toWorkerMetrics(pid: number, metrics: readonly MetricFamilyJson[], slot?: SlotLabel): WorkerMetrics {
  const families: FamilySnapshot[] = [];
  const slotText = slot && `${slot.name}="${slot.value}"`;
  const marker = slot && `${slot.name}="`;
  for (const metric of metrics) {
    const type = kindOf(metric.type);
    if (type === undefined) continue;
    const samples: Array<string | SampleValue> = [];
    let lines = '';
    let clash = false;
    const bounds = new BucketBounds(type);
    const name = metric.name;
    for (const value of metric.values ?? []) {
      const suffix = suffixOf(name, value.metricName);
      bounds.see(suffix, value.labels);
      const labels = textOf(value);
      if (slotText === undefined) {
        samples.push(suffix, labels, sampleValue(value.value));
        continue;
      }
      if (labels.startsWith(marker!) || labels.includes(`,${marker!}`)) clash = true;
      lines += `${name}${suffix}{${labels === '' ? slotText : `${labels},${slotText}`}} ${formatValue(value.value)}\n`;
    }
    const family = {
      name,
      help: metric.help,
      type,
      aggregator: metric.aggregator ?? 'sum',
      ...(type === 'histogram' ? { buckets: bounds.text } : {}),
    };
    if (slotText === undefined) families.push({ ...family, samples });
    else families.push(clash ? { ...family, lines: '', clash } : { ...family, lines });
  }
  return { pid, families };
}

/**
 * Label text of one sample, cached by label object: prom-client hands out the same object for a series at
 * every scrape (a histogram's own labels are its `sharedLabels`, next to a fresh `{ le }`).
 */
const texts = new WeakMap<object, string>();

export function textOf({ labels, sharedLabels }: JsonValue): string {
  const shared = sharedLabels && hasKeys(sharedLabels) ? cachedText(sharedLabels) : '';
  if (shared === '') return cachedText(labels);
  // A histogram's bucket (`le`) or a summary's quantile, then its own labels; the same order on every worker.
  const own = labelText(labels);
  if (own === '') return shared;
  for (const key in labels) if (key in sharedLabels!) return labelText({ ...sharedLabels, ...labels }); // prom-client lets `labels` win
  return `${own},${shared}`;
}

function cachedText(labels: Readonly<Record<string, string | number | undefined>>): string {
  let text = texts.get(labels);
  if (text === undefined) texts.set(labels, (text = labelText(labels)));
  return text;
}

/** prom-client 15 gives the type as a string; older typings call it an enum. */
export function kindOf(type: unknown): MetricKind | undefined {
  return type === 'counter' || type === 'gauge' || type === 'histogram' || type === 'summary' ? type : undefined;
}

function hasKeys(object: object): boolean {
  for (const _ in object) return true;
  return false;
}

/** `a="1",b="x\"y"`: label names sorted, so that one series has one text on every worker. */
export function labelText(labels: Readonly<Record<string, string | number | undefined>> | undefined): string {
  if (!labels) return '';
  const names = Object.keys(labels);
  if (names.length === 0) return '';
  if (names.length > 1) names.sort();
  let text = '';
  for (const name of names) {
    const value = labels[name];
    if (value === undefined) continue;
    text += `${text === '' ? '' : ','}${name}="${typeof value === 'string' ? escapeLabelValue(value) : value}"`;
  }
  return text;
}

const NEEDS_ESCAPE = /[\\\n"]/;

function escapeLabelValue(value: string): string {
  return NEEDS_ESCAPE.test(value) ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : value;
}

/** Escapes a HELP text as the exposition format wants it. */
export function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function sampleValue(value: number): SampleValue {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? '+Inf' : '-Inf';
}

export function isSampleValue(value: unknown): value is SampleValue {
  return typeof value === 'number' || value === 'NaN' || value === '+Inf' || value === '-Inf';
}

export function numberOf(value: SampleValue | string): number {
  if (typeof value === 'number') return value;
  if (value === '+Inf') return Infinity;
  if (value === '-Inf') return -Infinity;
  return Number(value);
}

/** A value as the exposition format writes it. */
export function formatValue(value: number): string {
  if (Number.isFinite(value)) return `${value}`;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? '+Inf' : '-Inf';
}

/** Checks what a worker answered, so that one worker's junk costs only its own series. */
export function isWorkerMetrics(value: unknown): value is WorkerMetrics {
  if (typeof value !== 'object' || value === null) return false;
  const { pid, families } = value as Partial<WorkerMetrics>;
  if (!Number.isInteger(pid) || !Array.isArray(families)) return false;
  for (const family of families) {
    if (typeof family !== 'object' || family === null) return false;
    if (typeof family.name !== 'string' || typeof family.help !== 'string' || kindOf(family.type) === undefined) return false;
    const { samples, lines } = family;
    if (samples === undefined ? typeof lines !== 'string' : !Array.isArray(samples) || samples.length % 3 !== 0) return false;
  }
  return true;
}

/** What a sample's series name adds to its family's name (`_bucket`, `_sum`, `_count`), or `''`. */
export function suffixOf(familyName: string, metricName: string | undefined): string {
  return metricName !== undefined && metricName.startsWith(familyName) ? metricName.slice(familyName.length) : '';
}

/**
 * A histogram's bucket bounds as `le` shows them, joined by `,`, read off its first series (its
 * `_bucket` samples up to `+Inf`): what the merge compares between workers.
 */
export class BucketBounds {
  private bounds: string | undefined;
  private done: boolean;

  constructor(type: MetricKind) {
    this.done = type !== 'histogram';
  }

  see(suffix: string, labels: { readonly le?: unknown }): void {
    if (this.done || suffix !== '_bucket') return;
    const le = String(labels.le);
    this.bounds = this.bounds === undefined ? le : `${this.bounds},${le}`;
    this.done = le === '+Inf';
  }

  get text(): string {
    return this.bounds ?? '';
  }
}
