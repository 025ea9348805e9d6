import {
  ClusterError,
  NoHandlerError,
  QueueFullError,
  RemoteHandlerError,
  RequestLimitError,
  TransportUnavailableError,
  WorkerUnavailableError,
} from '../cluster.errors.js';
import type { WorkerAddress, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import { messageEnvelope, type MessageEnvelope, type RemoteErrorInfo } from './envelope.js';

/** What travels back for an error raised while routing or handling a request by `by`. */
export function toRemoteError(error: unknown, by?: WorkerAddress): RemoteErrorInfo {
  const node = by?.node;
  if (error instanceof WorkerUnavailableError) return { code: error.code, message: error.reason, slot: error.slot, node: error.node ?? node };
  if (error instanceof TransportUnavailableError) return { code: error.code, message: error.reason, node: error.node };
  if (error instanceof NoHandlerError || error instanceof QueueFullError) {
    return { code: error.code, message: error.message, slot: error.slot, node: error.node ?? node };
  }
  const slot = by && by.slot >= 0 ? by.slot : undefined;
  if (error instanceof RequestLimitError) return { code: error.code, message: error.message, remoteCode: error.limit, slot, node };
  const remote = error instanceof Error ? error : new Error(String(error));
  const remoteCode = (remote as { code?: unknown }).code;
  return {
    code: RemoteHandlerError.code,
    message: remote.message,
    remoteCode: typeof remoteCode === 'string' || typeof remoteCode === 'number' ? remoteCode : undefined,
    remoteName: remote.name,
    slot,
    node,
  };
}

/**
 * Rebuilds the typed error on the requester's side. `to` is where the request went; errors name a
 * node only when it is not `selfNode`, so single-node messages read as they always did.
 */
export function fromRemoteError(info: RemoteErrorInfo, topic: string, to: WorkerAddress | undefined, selfNode: string): ClusterError {
  const slot = info.slot ?? to?.slot;
  const where = info.node ?? to?.node;
  const node = where === selfNode ? undefined : where;
  switch (info.code) {
    case WorkerUnavailableError.code:
      return new WorkerUnavailableError(topic, slot, info.message, node);
    case NoHandlerError.code:
      return new NoHandlerError(topic, slot, node);
    case QueueFullError.code:
      return new QueueFullError(topic, slot, node);
    case TransportUnavailableError.code:
      return new TransportUnavailableError(topic, where, info.message);
    case RequestLimitError.code:
      return new RequestLimitError(topic, typeof info.remoteCode === 'number' ? info.remoteCode : Number.NaN);
    default:
      return new RemoteHandlerError(topic, slot ?? -1, info.message, info.remoteCode ?? info.code, info.remoteName, node);
  }
}

/** A `reply` to `request` that carries an error instead of data. */
export function errorReply(request: MessageEnvelope, from: WorkerIdentity, error: unknown): MessageEnvelope {
  return replyWithError(request.topic, request.id, addressOf(request.from), from, error);
}

/** A `reply` carrying an error, to the request `id` of the worker at `to`. */
export function replyWithError(topic: string, id: string | undefined, to: WorkerAddress, from: WorkerIdentity, error: unknown): MessageEnvelope {
  return messageEnvelope('reply', { topic, id, from, to, error: toRemoteError(error, from) });
}

/** Just the address of a worker (what an envelope's `to` carries). */
export function addressOf({ node, slot }: WorkerAddress): WorkerAddress {
  return { node, slot };
}
