/**
 * The Redis transport's own protocol between the processes of a cluster's nodes.
 *
 * Channels (the braces keep a cluster's channels in one Redis Cluster hash slot):
 * - `ncl:{<name>}:all`, heard by every node's primary: `hb` (heartbeat), `bye`, `ev` (a worker's
 *   lifecycle event), and `pub` when a link publishes itself (`NodeLink.publish`; the library's
 *   processes publish on their lanes);
 * - `ncl:{<name>}:n:<node>`, heard by that node's primary: `msg`, a request routed by topic to that
 *   node (the primary picks the worker) and the replies to the ones it routed;
 * - `ncl:{<name>}:p`, heard by every worker (each process that sends and receives messages): `pub`, a publish;
 * - `ncl:{<name>}:w:<node>:<id>:<pid>`, heard by that one worker: `msg`, a `send`, `request` or `reply`
 *   addressed to it.
 * A worker writes its publishes and addressed messages on one connection of its own, so a receiver,
 * which hears both on one connection too, gets them in the order they were made. The frames are the
 * broker's (`../broker/node-frames.ts`), packed with JSON serialization; what one tick writes to a channel
 * goes out in one `PUBLISH`.
 */
import type { WorkerIdentity } from '../../interfaces/cluster-event.interface.js';

export const channels = (name: string) => ({
  all: `ncl:{${name}}:all`,
  node: (node: string) => `ncl:{${name}}:n:${node}`,
  published: `ncl:{${name}}:p`,
  worker: ({ node, id, pid }: WorkerIdentity) => `ncl:{${name}}:w:${node}:${id}:${pid}`,
});
