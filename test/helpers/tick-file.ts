import { readFileSync } from 'node:fs';
import { pollUntil } from './messaging-cluster.js';

/**
 * A line of a tick file, which the fixtures append to each time their once-a-second job runs: the
 * second it ran for, and the worker (and the epoch) that ran it.
 */
export interface Tick {
  second: number;
  pid: number;
  epoch: number;
  node?: string;
  slot?: number;
}

/** The lines of the tick file so far. */
export function readTicks<T extends Tick = Tick>(file: string): T[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // nothing written yet
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);
}

export function describeTicks(list: readonly Tick[]): string {
  return list.map((t) => `${t.second} ${t.node ?? ''}/${t.slot ?? ''} pid ${t.pid} epoch ${t.epoch}`).join('\n');
}

/** Resolves with the ticks once `check` holds for them. */
export async function ticksUntil<T extends Tick = Tick>(file: string, check: (list: T[]) => boolean, what: string, timeoutMs: number): Promise<T[]> {
  await pollUntil(async () => check(readTicks<T>(file)), `${what}; ticks so far:\n${describeTicks(readTicks(file))}`, timeoutMs);
  return readTicks<T>(file);
}

/** Seconds that appear more than once. */
export function doubled(list: readonly Tick[]): number[] {
  const seen = new Set<number>();
  return list.filter((t) => (seen.has(t.second) ? true : (seen.add(t.second), false))).map((t) => t.second);
}

/** Seconds missing between the first and the last tick of `list`. */
export function missing(list: readonly Tick[]): number[] {
  const seconds = new Set(list.map((t) => t.second));
  const [first, last] = [Math.min(...seconds), Math.max(...seconds)];
  const gaps: number[] = [];
  for (let s = first; s <= last; s++) if (!seconds.has(s)) gaps.push(s);
  return gaps;
}
