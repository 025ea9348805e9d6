/**
 * The NATS transport's subjects; the frames are the broker's (`../broker/node-frames.ts`), one NATS
 * message per run of frames for the same subject, packed with JSON serialization (payloads neither
 * escaped nor parsed on the way) and v8's structured clone with `'advanced'`.
 *
 * - `ncl.<name>.all`, heard by every node's primary: `hb` (heartbeat), `bye`, `ev` (a worker's lifecycle
 *   event), and `pub` when a link publishes itself (`NodeLink.publish`);
 * - `ncl.<name>.n.<node>`, heard by that node's primary: `msg`, a request routed by topic to that node and
 *   the replies to the ones it routed;
 * - `ncl.<name>.p`, heard by every worker: `pub`, a publish;
 * - `ncl.<name>.w.<node>.<id>.<pid>`, heard by that one worker: `msg`, a `send`, `request` or `reply`
 *   addressed to it;
 * - `ncl.<name>.nr.<node>.<id>.<pid>.<n>`: a message carrying requests goes out with this reply subject, so
 *   that the server's "no responders" status (503) for a worker nobody hears any more comes back to the
 *   lane that wrote it.
 * A worker writes and hears on one connection, so NATS keeps each sender's order. Names and node ids may
 * hold dots, which separate subject tokens: they travel as `%2E`.
 */
import type { WorkerIdentity } from '../../interfaces/cluster-event.interface.js';

/** One subject token from a name or node id (letters, digits, `.`, `_`, `:`, `-`). */
const token = (text: string): string => text.replaceAll('.', '%2E');

export const subjects = (name: string) => {
  const root = `ncl.${token(name)}`;
  const process = ({ node, id, pid }: WorkerIdentity) => `${token(node)}.${id}.${pid}`;
  return {
    all: `${root}.all`,
    node: (node: string) => `${root}.n.${token(node)}`,
    published: `${root}.p`,
    worker: (worker: WorkerIdentity) => `${root}.w.${process(worker)}`,
    noResponders: (worker: WorkerIdentity) => `${root}.nr.${process(worker)}`,
  };
};
