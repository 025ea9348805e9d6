import type { Observable } from 'rxjs';
import type { ClusterError } from '../cluster.errors.js';
import type { WorkerAddress, WorkerIdentity } from './cluster-event.interface.js';

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

/** A slot of this node, or a worker anywhere: `{ node, slot }`. */
export type WorkerTarget = number | WorkerAddress;

/** Which workers `requestAll` asks. */
export type ScatterScope = 'node' | 'cluster';

export interface RequestOptions {
  /**
   * Whom to ask: a slot of this node, or `{ node, slot }`. Unset: one worker that handles the topic,
   * round-robin among them.
   */
  to?: WorkerTarget;
  /**
   * How long to wait for the reply.
   * @default ClusterModuleOptions.requestTimeoutMs (5000)
   */
  timeoutMs?: number;
}

export interface ScatterOptions {
  /**
   * `cluster`: every worker of every node; `node`: the workers of this node only (health checks and
   * metrics of one node). The same on a cluster of one node.
   * @default 'cluster'
   */
  scope?: ScatterScope;
  /**
   * How long to wait for each worker's reply.
   * @default ClusterModuleOptions.requestTimeoutMs (5000)
   */
  timeoutMs?: number;
}

/** One worker's answer to `requestAll`. */
export interface ScatterReply<R> extends WorkerAddress {
  readonly data: R;
}

/** A worker whose handler failed, or that has no handler for the topic. */
export interface ScatterFailure extends WorkerAddress {
  readonly error: ClusterError;
}

/** What `requestAll` gathered: each entry names its worker's node and slot, ordered by node, then slot. */
export interface ScatterResult<R> {
  readonly replies: ScatterReply<R>[];
  readonly errors: ScatterFailure[];
  /** Workers that did not answer in time or went away. */
  readonly missing: WorkerAddress[];
}
