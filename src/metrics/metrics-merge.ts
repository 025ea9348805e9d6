import type { Aggregator } from 'prom-client';
import { RenderedText } from './rendered-text.js';
import { escapeHelp, numberOf, type FamilySnapshot, type MetricKind, type SampleValue, type WorkerMetrics } from './worker-metrics.js';

/** One worker's part in a scrape. */
export interface Contribution {
  readonly slot: number;
  readonly metrics: WorkerMetrics;
  /**
   * Count only the series that never go down (counters, histograms, the sum and count of summaries): a
   * worker silent for longer than `retainMs` whose gauges would be too stale to show.
   */
  readonly monotonicOnly?: boolean;
}

/**
 * Why some workers' series of a metric were left out, or disagree: `type` (not the type the lowest slot
 * gives it), `buckets` (a histogram with other bucket bounds), `label` (a series that already has the
 * label `per-worker` mode adds).
 */
export type MergeErrorReason = 'type' | 'buckets' | 'label';

export interface MergeError {
  readonly metric: string;
  readonly reason: MergeErrorReason;
  /** The slots whose series of that metric were left out (`buckets` in `per-worker` mode: kept, but they differ). */
  readonly slots: number[];
}

export interface MergeResult {
  /** The families in the exposition format, each with its HELP and TYPE lines. */
  readonly text: string;
  readonly errors: MergeError[];
}

/** What exited workers added to the families that only grow, kept by `aggregate` mode. */
export interface RetiredFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricKind;
  readonly buckets?: string;
  /** By series key (`suffix{labels`), the total. */
  readonly values: Map<string, number>;
}

interface Group {
  readonly first: FamilySnapshot;
  readonly parts: Array<{ readonly slot: number; readonly family: FamilySnapshot; readonly monotonicOnly: boolean }>;
}

/**
 * Groups the families by name; a family whose type or buckets differ from the lowest slot's is set apart (the
 * buckets of the lowest slot that has series of it).
 */
function groupFamilies(contributions: readonly Contribution[], errors: ErrorLog, keepOtherBuckets: boolean): Map<string, Group> {
  const groups = new Map<string, Group>();
  const ordered = [...contributions].sort((a, b) => a.slot - b.slot);
  for (const { slot, metrics, monotonicOnly = false } of ordered) {
    for (const family of metrics.families) {
      const group = groups.get(family.name);
      if (!group) {
        groups.set(family.name, { first: family, parts: [{ slot, family, monotonicOnly }] });
        continue;
      }
      if (family.type !== group.first.type) {
        errors.add(family.name, 'type', slot);
        continue;
      }
      // A histogram with no series yet (nothing observed on that worker) shows no buckets: nothing to compare.
      if (group.first.buckets === '' && family.buckets) {
        groups.set(family.name, { first: family, parts: [...group.parts, { slot, family, monotonicOnly }] });
        continue;
      }
      if (family.buckets !== group.first.buckets && family.buckets !== '') {
        errors.add(family.name, 'buckets', slot);
        if (!keepOtherBuckets) continue;
      }
      group.parts.push({ slot, family, monotonicOnly });
    }
  }
  return groups;
}

class ErrorLog {
  private readonly byKey = new Map<string, MergeError>();

  add(metric: string, reason: MergeErrorReason, slot: number): void {
    const key = `${metric}\u0000${reason}`;
    const error = this.byKey.get(key);
    if (!error) this.byKey.set(key, { metric, reason, slots: [slot] });
    else if (!error.slots.includes(slot)) error.slots.push(slot);
  }

  list(): MergeError[] {
    return [...this.byKey.values()];
  }
}

function header(family: FamilySnapshot): string {
  return `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
}

/**
 * `per-worker` mode: every worker's series, each with its slot label (the workers rendered their lines), so
 * that Prometheus sums them and sees each worker's restarts as that series' reset. No state: a worker that
 * did not answer is absent.
 */
export function mergePerWorker(contributions: readonly Contribution[]): MergeResult {
  const errors = new ErrorLog();
  const groups = groupFamilies(contributions, errors, true);
  let text = '';
  for (const [name, { first, parts }] of groups) {
    const clashes = parts.filter((p) => p.family.clash);
    // Two workers' series that differ only by the label we would add cannot both be shown.
    if (clashes.length > 0) {
      for (const { slot } of clashes) errors.add(name, 'label', slot);
      continue;
    }
    text += header(first);
    for (const { family } of parts) text += family.lines ?? '';
  }
  return { text, errors: errors.list() };
}

/** Series that only grow: what an exited worker leaves to the retired total. */
export function isMonotonic(type: MetricKind, suffix: string): boolean {
  return type === 'counter' || type === 'histogram' || (type === 'summary' && (suffix === '_sum' || suffix === '_count'));
}

export interface AggregateResult extends MergeResult {
  /** The same text, as the text between values and the values. */
  readonly rendered: RenderedText;
  /** Retired totals that no longer fit their metric (its type or buckets changed): to forget. */
  readonly staleRetired: string[];
}

/**
 * `aggregate` mode: one series per label set, combined across workers with the metric's `aggregator`
 * (`sum` by default, as prom-client's `AggregatorRegistry`), plus what exited workers left in `retired`
 * for the series that only grow.
 */
export function mergeAggregate(contributions: readonly Contribution[], retired: ReadonlyMap<string, RetiredFamily> = new Map()): AggregateResult {
  const errors = new ErrorLog();
  const groups = groupFamilies(contributions, errors, false);
  const staleRetired: string[] = [];
  const out = new RenderedText();
  for (const [name, { first, parts }] of groups) {
    const aggregator = first.aggregator;
    if (aggregator === 'omit') continue;
    const series = new SeriesTable(aggregator);
    for (const { family, monotonicOnly } of parts) series.add(family, monotonicOnly);
    const gone = retired.get(name);
    if (gone) {
      if (gone.type !== first.type || (gone.buckets !== first.buckets && first.buckets !== '') || aggregator !== 'sum') staleRetired.push(name);
      else for (const [key, value] of gone.values) series.addKey(key, value);
    }
    series.render(name, out.text(header(first)));
  }
  // Metrics that only exited workers had: their totals stay, or a counter would go down.
  for (const [name, gone] of retired) {
    if (groups.has(name)) continue;
    lines(name, gone.values, out.text(header({ ...gone, aggregator: 'sum', samples: [] })));
  }
  return {
    rendered: out,
    errors: errors.list(),
    staleRetired,
    // Built only if asked for: the aggregating worker sends `rendered` to the worker the scrape reached.
    get text() {
      return out.toString();
    },
  };
}

/**
 * The series of one metric across workers, combined with its aggregator. Workers of one app list a metric's
 * series in the same order, so a worker whose samples line up with the table's is added position by position;
 * only one that differs (or a retired total) needs the lookup by label text.
 */
class SeriesTable {
  private readonly suffixes: string[] = [];
  private readonly labels: string[] = [];
  private readonly values: number[] = [];
  private readonly counts: number[] = [];
  private index: Map<string, number> | undefined;

  constructor(private readonly aggregator: Aggregator) {}

  add(family: FamilySnapshot, monotonicOnly: boolean): void {
    const samples = family.samples ?? [];
    const n = samples.length / 3;
    const first = this.values.length === 0 && this.index === undefined;
    const aligned = first || (n === this.values.length && this.lineUp(samples));
    for (let i = 0; i < n; i++) {
      const suffix = samples[3 * i] as string;
      if (monotonicOnly && !isMonotonic(family.type, suffix)) {
        if (first) this.push(suffix, samples[3 * i + 1] as string, NaN, 0);
        continue;
      }
      const value = numberOf(samples[3 * i + 2]!);
      if (first) this.push(suffix, samples[3 * i + 1] as string, value, 1);
      else if (aligned) this.combine(i, value);
      else this.addKey(`${suffix}{${samples[3 * i + 1] as string}`, value);
    }
  }

  addKey(key: string, value: number): void {
    const index = this.lookup();
    const at = index.get(key);
    if (at !== undefined) return this.combine(at, value);
    const brace = key.indexOf('{');
    index.set(key, this.values.length);
    this.push(key.slice(0, brace), key.slice(brace + 1), value, 1);
  }

  render(name: string, out: RenderedText): void {
    for (let i = 0; i < this.values.length; i++) {
      if (this.counts[i] === 0) continue; // only a silent worker's gauge had it
      const value = this.aggregator === 'average' ? this.values[i]! / this.counts[i]! : this.values[i]!;
      const labels = this.labels[i]!;
      out
        .text(`${name}${this.suffixes[i]}${labels === '' ? '' : `{${labels}}`} `)
        .value(value)
        .text('\n');
    }
  }

  private lineUp(samples: ReadonlyArray<string | SampleValue>): boolean {
    for (let i = 0; i < this.values.length; i++) {
      if (samples[3 * i] !== this.suffixes[i] || samples[3 * i + 1] !== this.labels[i]) return false;
    }
    return true;
  }

  private push(suffix: string, labels: string, value: number, count: number): void {
    this.index?.set(`${suffix}{${labels}`, this.values.length);
    this.suffixes.push(suffix);
    this.labels.push(labels);
    this.values.push(value);
    this.counts.push(count);
  }

  private combine(at: number, value: number): void {
    const seen = this.values[at]!;
    const count = this.counts[at]!;
    this.counts[at] = count + 1;
    if (count === 0) this.values[at] = value;
    else if (this.aggregator === 'sum' || this.aggregator === 'average') this.values[at] = seen + value;
    else if (this.aggregator === 'min') this.values[at] = Math.min(seen, value);
    else if (this.aggregator === 'max') this.values[at] = Math.max(seen, value);
  }

  private lookup(): Map<string, number> {
    if (!this.index) {
      this.index = new Map();
      for (let i = 0; i < this.values.length; i++) this.index.set(`${this.suffixes[i]}{${this.labels[i]}`, i);
    }
    return this.index;
  }
}

function lines(name: string, values: ReadonlyMap<string, number>, out: RenderedText): void {
  for (const [key, value] of values) {
    out
      .text(key.endsWith('{') ? `${name}${key.slice(0, -1)} ` : `${name}${key}} `)
      .value(value)
      .text('\n');
  }
}

/**
 * Adds a worker's last series that only grow to the retired totals (it exited). A metric whose type or
 * buckets changed starts over from this worker's values.
 */
export function retire(retired: Map<string, RetiredFamily>, metrics: WorkerMetrics): void {
  for (const family of metrics.families) {
    if (family.aggregator !== 'sum' || family.type === 'gauge') continue;
    let total = retired.get(family.name);
    if (!total || total.type !== family.type || total.buckets !== family.buckets) {
      total = { name: family.name, help: family.help, type: family.type, buckets: family.buckets, values: new Map() };
      retired.set(family.name, total);
    }
    const samples = family.samples ?? [];
    for (let i = 0; i < samples.length; i += 3) {
      const suffix = samples[i] as string;
      if (!isMonotonic(family.type, suffix)) continue;
      const key = `${suffix}{${samples[i + 1] as string}`;
      total.values.set(key, (total.values.get(key) ?? 0) + numberOf(samples[i + 2]!));
    }
  }
}
