import { mergeAggregate, retire, type AggregateResult, type Contribution, type RetiredFamily } from './metrics-merge.js';
import type { WorkerMetrics } from './worker-metrics.js';

/** A worker's answer to one scrape. */
export interface WorkerAnswer {
  readonly slot: number;
  readonly metrics: WorkerMetrics;
}

/** A worker whose last answer stood in for it in this scrape. */
export interface ReusedSnapshot {
  readonly slot: number;
  readonly pid: number;
  readonly ageMs: number;
  /** Older than `retainMs`: only its series that never go down still count. */
  readonly expired: boolean;
}

export interface AggregateScrape extends AggregateResult {
  readonly reused: ReusedSnapshot[];
}

interface Held {
  readonly slot: number;
  readonly metrics: WorkerMetrics;
  readonly at: number;
}

/** Pids whose series went to the retired totals, remembered so that a late answer of theirs is not counted twice. */
const MAX_FOLDED = 4096;

/**
 * What `aggregate` mode remembers between scrapes, so that sums never go down: the last answer of each
 * worker (reused while it is silent), and the totals that exited workers left behind.
 */
export class AggregateState {
  private readonly held = new Map<number, Held>();
  private readonly retired = new Map<string, RetiredFamily>();
  private readonly folded = new Set<number>();
  private retiredWorkers = 0;

  constructor(
    /** How long a silent worker's last answer is shown whole; after that, only its series that only grow. */
    private readonly retainMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Workers whose totals were kept after they exited. */
  get retiredCount(): number {
    return this.retiredWorkers;
  }

  /**
   * One scrape. `live`: this node's workers now, pid to slot; `answers`: who answered. A worker no longer
   * live leaves its last counters to the retired totals; a live one that did not answer is shown by its
   * last answer.
   */
  scrape(live: ReadonlyMap<number, number>, answers: readonly WorkerAnswer[]): AggregateScrape {
    const now = this.now();
    const answered = new Set<number>();
    for (const { slot, metrics } of answers) {
      if (this.folded.has(metrics.pid)) continue;
      answered.add(metrics.pid);
      this.held.set(metrics.pid, { slot, metrics, at: now });
    }
    for (const [pid, held] of this.held) {
      if (live.has(pid) || answered.has(pid)) continue;
      retire(this.retired, held.metrics);
      this.held.delete(pid);
      this.remember(pid);
      this.retiredWorkers += 1;
    }
    const contributions: Contribution[] = [];
    const reused: ReusedSnapshot[] = [];
    for (const [pid, { slot, metrics, at }] of this.held) {
      if (answered.has(pid)) {
        contributions.push({ slot, metrics });
        continue;
      }
      const ageMs = now - at;
      const expired = ageMs > this.retainMs;
      contributions.push({ slot, metrics, monotonicOnly: expired });
      reused.push({ slot, pid, ageMs, expired });
    }
    const result = mergeAggregate(contributions, this.retired);
    for (const name of result.staleRetired) this.retired.delete(name);
    // Not spread: the result builds its text only if asked.
    return Object.assign(result, { reused });
  }

  private remember(pid: number): void {
    this.folded.add(pid);
    if (this.folded.size > MAX_FOLDED) this.folded.delete(this.folded.values().next().value!);
  }
}
