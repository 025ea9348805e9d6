import type { WorkerIdentity } from '../interfaces/cluster-event.interface.js';

/**
 * The one worker of the whole cluster that runs what must run once (`@Cron` jobs, `@LeaderOnly()`
 * methods). `epoch` grows with every appointment, cluster-wide when the nodes share Redis: a side
 * effect stamped with it can be refused once a later leader has written. A Redis that comes back
 * without its data does not set it back: the next holder of the lease takes it past the highest
 * epoch its node has seen (only a cluster that restarts with Redis starts again from 1).
 */
export interface Leader {
  readonly node: string;
  readonly slot: number;
  readonly pid: number;
  readonly epoch: number;
}

/** Whether `leader` is the worker `self`. */
export function isLeaderOf(leader: Leader | null | undefined, self: Pick<WorkerIdentity, 'node' | 'slot' | 'pid'>): boolean {
  return !!leader && leader.node === self.node && leader.pid === self.pid && leader.slot === self.slot;
}

export function sameLeader(a: Leader | null | undefined, b: Leader | null | undefined): boolean {
  return (a ?? null) === (b ?? null) || (!!a && !!b && a.epoch === b.epoch && isLeaderOf(a, b));
}

/** Checks a leader read from the wire. */
export function isLeader(value: unknown): value is Leader {
  if (typeof value !== 'object' || value === null) return false;
  const { node, slot, pid, epoch } = value as Record<string, unknown>;
  return typeof node === 'string' && Number.isInteger(slot) && Number.isInteger(pid) && Number.isSafeInteger(epoch) && (epoch as number) >= 0;
}
