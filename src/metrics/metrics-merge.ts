import { escapeHelp, formatValue, numberOf, type FamilySnapshot, type MetricKind, type WorkerMetrics } from './worker-metrics.js';

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

/** Groups the families by name; a family whose type or buckets differ from the lowest slot's is set apart. */
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
      if (family.buckets !== group.first.buckets) {
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
 * `per-worker` mode: every worker's series, each with a `slotLabel` label, so that Prometheus sums them
 * and sees each worker's restarts as that series' reset. No state: a worker that did not answer is absent.
 */
export function mergePerWorker(contributions: readonly Contribution[], slotLabel = 'slot'): MergeResult {
  const errors = new ErrorLog();
  const groups = groupFamilies(contributions, errors, true);
  const marker = `${slotLabel}="`;
  let text = '';
  for (const [name, { first, parts }] of groups) {
    let lines = '';
    let clash = false;
    for (const { slot, family } of parts) {
      const slotText = `${marker}${slot}"`;
      const { samples } = family;
      for (let i = 0; i < samples.length; i += 3) {
        const labels = samples[i + 1] as string;
        if (labels.includes(marker) && hasLabel(labels, marker)) {
          errors.add(name, 'label', slot);
          clash = true;
          break;
        }
        lines += `${name}${samples[i] as string}{${labels === '' ? slotText : `${labels},${slotText}`}} ${samples[i + 2]!}\n`;
      }
    }
    // Two workers' series that differ only by the label we would add cannot both be shown.
    if (!clash) text += header(first) + lines;
  }
  return { text, errors: errors.list() };
}

/** Whether the label text has a label starting with `marker` (`slot="`) (not text inside another label's value). */
function hasLabel(labels: string, marker: string): boolean {
  // Inside a value every `"` is escaped, so `,slot="` can only start a label.
  return labels.startsWith(marker) || labels.includes(`,${marker}`);
}

/** Series that only grow: what an exited worker leaves to the retired total. */
export function isMonotonic(type: MetricKind, suffix: string): boolean {
  return type === 'counter' || type === 'histogram' || (type === 'summary' && (suffix === '_sum' || suffix === '_count'));
}

export interface AggregateResult extends MergeResult {
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
  let text = '';
  for (const [name, { first, parts }] of groups) {
    const aggregator = first.aggregator;
    if (aggregator === 'omit') continue;
    const values = new Map<string, number>();
    const counts = aggregator === 'average' ? new Map<string, number>() : undefined;
    for (const { family, monotonicOnly } of parts) {
      const { samples } = family;
      for (let i = 0; i < samples.length; i += 3) {
        const suffix = samples[i] as string;
        if (monotonicOnly && !isMonotonic(family.type, suffix)) continue;
        const key = `${suffix}{${samples[i + 1] as string}`;
        const value = numberOf(samples[i + 2]!);
        const seen = values.get(key);
        if (seen === undefined) values.set(key, value);
        else if (aggregator === 'sum' || aggregator === 'average') values.set(key, seen + value);
        else if (aggregator === 'min') values.set(key, Math.min(seen, value));
        else if (aggregator === 'max') values.set(key, Math.max(seen, value));
        if (counts) counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    const gone = retired.get(name);
    if (gone) {
      if (gone.type !== first.type || gone.buckets !== first.buckets || aggregator !== 'sum') staleRetired.push(name);
      else for (const [key, value] of gone.values) values.set(key, (values.get(key) ?? 0) + value);
    }
    if (counts) for (const [key, count] of counts) values.set(key, values.get(key)! / count);
    text += header(first) + lines(name, values);
  }
  // Metrics that only exited workers had: their totals stay, or a counter would go down.
  for (const [name, gone] of retired) {
    if (groups.has(name)) continue;
    text += header({ ...gone, aggregator: 'sum', samples: [] }) + lines(name, gone.values);
  }
  return { text, errors: errors.list(), staleRetired };
}

function lines(name: string, values: ReadonlyMap<string, number>): string {
  let text = '';
  for (const [key, value] of values) {
    text += key.endsWith('{') ? `${name}${key.slice(0, -1)} ${formatValue(value)}\n` : `${name}${key}} ${formatValue(value)}\n`;
  }
  return text;
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
    const { samples } = family;
    for (let i = 0; i < samples.length; i += 3) {
      const suffix = samples[i] as string;
      if (!isMonotonic(family.type, suffix)) continue;
      const key = `${suffix}{${samples[i + 1] as string}`;
      total.values.set(key, (total.values.get(key) ?? 0) + numberOf(samples[i + 2]!));
    }
  }
}
