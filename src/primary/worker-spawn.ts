import type { Cluster } from 'node:cluster';
import { WORKER_SLOT_ENV } from '../cluster.constants.js';
import { CLUSTER_ENV } from '../cluster-options.js';
import { ChannelToWorker, type ChannelLimits, type WorkerSays } from '../channel/channel-to-worker.js';
import type { ClusterEvent, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { Member } from './slot-table.js';
import { WorkerProcess } from './worker-process.js';

/** Where a new worker's life is reported. */
export interface SpawnHooks {
  /** What it says on its channel (`member` is the worker itself, once it exists). */
  hear(member: () => Member): WorkerSays;
  /** node:cluster's own events of the worker, as cluster events. */
  emit(event: ClusterEvent): void;
  exited(member: Member, code: number | null, signal: string | null): void;
}

/**
 * Forks one worker for `slot` of node `nodeId` and opens its channel (slot -1: a warm standby, which
 * takes a slot later). The node's name goes with the slot (env): every worker of this node speaks as
 * the same node. Its identity is one object shared by the process, the channel and the member, so that
 * a standby's slot, once assigned, shows everywhere. `env` adds to the worker's environment.
 */
export function spawnWorker(
  cluster: Cluster,
  nodeId: string,
  slot: number,
  limits: ChannelLimits,
  hooks: SpawnHooks,
  env: Readonly<Record<string, string>> = {},
): Member {
  const worker = cluster.fork({ ...env, [WORKER_SLOT_ENV]: String(slot), [CLUSTER_ENV.nodeId]: nodeId });
  const identity: WorkerIdentity = { node: nodeId, id: worker.id, slot, pid: worker.process.pid ?? 0 };
  const process = new WorkerProcess(worker, identity);
  const channel = new ChannelToWorker(
    worker,
    identity,
    limits,
    hooks.hear(() => member),
  );
  const member: Member = {
    identity,
    process,
    channel,
    topics: new Set(),
    pending: 0,
    standby: false,
    get lastSeen() {
      return channel.lastSeen;
    },
  };
  const { emit } = hooks;
  worker.on('online', () => emit({ type: 'online', ...identity, at: Date.now() }));
  worker.on('listening', (address) =>
    emit({ type: 'listening', ...identity, address: address.address ?? null, port: address.port ?? null, at: Date.now() }),
  );
  worker.on('disconnect', () => emit({ type: 'disconnect', ...identity, at: Date.now() }));
  worker.on('exit', (code: number | null, signal: string | null) => hooks.exited(member, code, signal));
  // A send racing the worker's exit fails with EPIPE / channel closed; the exit event tells the story.
  worker.on('error', () => undefined);
  return member;
}
