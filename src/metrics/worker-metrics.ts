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
   * Samples as flat triples: the suffix of the series name (`''`, `'_bucket'`, `'_sum'`, `'_count'`), the
   * label text as the exposition format writes it between braces (names sorted, values escaped), the value.
   */
  readonly samples: Array<string | SampleValue>;
}

/** What one worker answers to a scrape: its metrics, and who it is. */
export interface WorkerMetrics {
  readonly pid: number;
  readonly families: FamilySnapshot[];
}

/** A family as prom-client's `getMetricsAsJSON()` gives it (histogram values carry `metricName` and `sharedLabels`). */
export type MetricFamilyJson = Pick<MetricObjectWithValues<MetricValue<string>>, 'name' | 'help' | 'aggregator'> & {
  type: unknown;
  values?: ReadonlyArray<MetricValue<string> & { metricName?: string; sharedLabels?: Record<string, string | number> }>;
};

/**
 * Turns `getMetricsAsJSON()` output into the compact form workers send: label text rendered once, by the
 * worker that owns the series (so the gathering worker mostly concatenates), and values JSON can carry.
 */
export function toWorkerMetrics(pid: number, metrics: readonly MetricFamilyJson[]): WorkerMetrics {
  const families: FamilySnapshot[] = [];
  for (const metric of metrics) {
    const type = kindOf(metric.type);
    if (type === undefined) continue;
    const samples: Array<string | SampleValue> = [];
    let buckets: string[] | undefined;
    let bucketsDone = false;
    for (const value of metric.values ?? []) {
      const suffix = value.metricName !== undefined && value.metricName.startsWith(metric.name) ? value.metricName.slice(metric.name.length) : '';
      const labels = value.sharedLabels && hasKeys(value.sharedLabels) ? { ...value.sharedLabels, ...value.labels } : value.labels;
      if (type === 'histogram' && suffix === '_bucket' && !bucketsDone) {
        const le = String(value.labels.le);
        (buckets ??= []).push(le);
        bucketsDone = le === '+Inf';
      }
      samples.push(suffix, labelText(labels), sampleValue(value.value));
    }
    families.push({
      name: metric.name,
      help: metric.help,
      type,
      aggregator: metric.aggregator ?? 'sum',
      ...(type === 'histogram' ? { buckets: (buckets ?? []).join(',') } : {}),
      samples,
    });
  }
  return { pid, families };
}

/** prom-client 15 gives the type as a string; older typings call it an enum. */
function kindOf(type: unknown): MetricKind | undefined {
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
    if (!Array.isArray(family.samples) || family.samples.length % 3 !== 0) return false;
  }
  return true;
}
