import {
  ClusterError,
  NoHandlerError,
  QueueFullError,
  RemoteHandlerError,
  RequestLimitError,
  WorkerUnavailableError,
} from '../cluster.errors.js';
import type { WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import { messageEnvelope, type MessageEnvelope, type RemoteErrorInfo } from './envelope.js';

/** What travels back for an error raised while routing or handling a request. */
export function toRemoteError(error: unknown, slot?: number): RemoteErrorInfo {
  if (error instanceof WorkerUnavailableError) return { code: error.code, message: error.reason, slot: error.slot };
  if (error instanceof NoHandlerError || error instanceof QueueFullError) {
    return { code: error.code, message: error.message, slot: error.slot };
  }
  if (error instanceof RequestLimitError) return { code: error.code, message: error.message, remoteCode: error.limit, slot };
  const remote = error instanceof Error ? error : new Error(String(error));
  const remoteCode = (remote as { code?: unknown }).code;
  return {
    code: RemoteHandlerError.code,
    message: remote.message,
    remoteCode: typeof remoteCode === 'string' || typeof remoteCode === 'number' ? remoteCode : undefined,
    remoteName: remote.name,
    slot,
  };
}

/** Rebuilds the typed error on the requester's side. */
export function fromRemoteError(info: RemoteErrorInfo, topic: string, to: number | undefined): ClusterError {
  switch (info.code) {
    case WorkerUnavailableError.code:
      return new WorkerUnavailableError(topic, info.slot ?? to, info.message);
    case NoHandlerError.code:
      return new NoHandlerError(topic, info.slot ?? to);
    case QueueFullError.code:
      return new QueueFullError(topic, info.slot ?? to);
    case RequestLimitError.code:
      return new RequestLimitError(topic, typeof info.remoteCode === 'number' ? info.remoteCode : Number.NaN);
    default:
      return new RemoteHandlerError(topic, info.slot ?? to ?? -1, info.message, info.remoteCode ?? info.code, info.remoteName);
  }
}

/** A `reply` to `request` that carries an error instead of data. */
export function errorReply(request: MessageEnvelope, from: WorkerIdentity, error: unknown): MessageEnvelope {
  return replyWithError(request.topic, request.id, request.from.slot, from, error);
}

/** A `reply` carrying an error, to the request `id` of the worker in slot `to`. */
export function replyWithError(
  topic: string,
  id: string | undefined,
  to: number,
  from: WorkerIdentity,
  error: unknown,
): MessageEnvelope {
  return messageEnvelope('reply', { topic, id, from, to, error: toRemoteError(error, from.slot) });
}
