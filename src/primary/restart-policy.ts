import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';

type RestartSettings = ResolvedClusterOptions['restart'];

/** The delay before restarting a slot that failed `attempt` times in a row (1 = first failure). */
export function backoffDelay(attempt: number, settings: Pick<RestartSettings, 'initialDelayMs' | 'factor' | 'maxDelayMs'>): number {
  // 0 x Infinity (a long streak overflowing factor ** n) would be NaN.
  if (settings.initialDelayMs === 0) return 0;
  const exponent = Math.max(0, attempt - 1);
  const delay = settings.initialDelayMs * settings.factor ** exponent;
  return Math.min(settings.maxDelayMs, Math.round(delay));
}

/**
 * Counts unexpected exits in a sliding window, cluster-wide: a bad deploy crashes every slot, and
 * the cap must trip on the cluster's rate, not on one slot's.
 */
export class CrashWindow {
  private readonly exits: number[] = [];

  constructor(private readonly settings: Pick<RestartSettings, 'maxRestarts' | 'windowMs'>) {}

  /** Records an unexpected exit at `now`; returns how many fall within the window, this one included. */
  record(now: number): number {
    this.exits.push(now);
    const since = now - this.settings.windowMs;
    while (this.exits.length > 0 && this.exits[0]! <= since) this.exits.shift();
    return this.exits.length;
  }

  /** Whether `count` exits within the window amount to a crash loop. */
  isCrashLoop(count: number): boolean {
    return count >= this.settings.maxRestarts;
  }
}
