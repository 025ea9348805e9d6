import type { Observable } from 'rxjs';
import type { ClusterError } from '../cluster.errors.js';
import type { WorkerIdentity } from './cluster-event.interface.js';

/** A message as a subscriber of `on(topic)` receives it. */
export interface ClusterMessage<T = unknown> {
  readonly topic: string;
  readonly data: T;
  /** The sending worker. */
  readonly from: WorkerIdentity;
}

/** Answers a request: a value, a Promise, or an Observable whose first value is the reply. */
export type RequestHandler<T = unknown, R = unknown> = (data: T, from: WorkerIdentity) => R | Promise<R> | Observable<R>;

export interface PublishOptions {
  /**
   * Also deliver to this process's own `on(topic)` subscribers.
   * @default false
   */
  includeSelf?: boolean;
}

export interface RequestOptions {
  /** Slot to ask. Unset: one worker that handles the topic, round-robin among them. */
  to?: number;
  /**
   * How long to wait for the reply.
   * @default ClusterModuleOptions.requestTimeoutMs (5000)
   */
  timeoutMs?: number;
}

export interface ScatterOptions {
  /**
   * How long to wait for each worker's reply.
   * @default ClusterModuleOptions.requestTimeoutMs (5000)
   */
  timeoutMs?: number;
}

/** What `requestAll` gathered. */
export interface ScatterResult<R> {
  /** Replies by slot. */
  readonly replies: Record<number, R>;
  /** Slots that did not answer in time or went away, ascending. */
  readonly missing: number[];
  /** Slots whose handler failed, or that have no handler for the topic. */
  readonly errors: Record<number, ClusterError>;
}
