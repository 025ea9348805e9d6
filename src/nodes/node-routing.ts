import { TransportUnavailableError, WorkerUnavailableError } from '../cluster.errors.js';
import type { ClusterEvent } from '../interfaces/cluster-event.interface.js';
import type { LeaderAppointment } from '../leadership/leader-appointment.js';
import type { MessageEnvelope } from '../messaging/envelope.js';
import type { NodeLink } from '../transports/node-link.interface.js';

/**
 * How a message finds another node, shared by the primary's router and a standalone process that is
 * a node of its own: which node a request goes to, why one cannot, and what a change of the other
 * nodes means for leadership. Every error a caller meets for another node is worded here once.
 */

/** Why a message for `node` was not sent at all. */
export function linkDown(topic: string, node: string | undefined): TransportUnavailableError {
  return new TransportUnavailableError(topic, node, 'the link to the other nodes is down');
}

/** Why nothing at `to` can take a message: on this node, or on another one as the link last heard. */
export function noWorkerAt(
  topic: string,
  to: { readonly node: string; readonly slot?: number },
  thisNode: string,
  knows: (node: string) => boolean,
): WorkerUnavailableError {
  if (to.node === thisNode) return new WorkerUnavailableError(topic, to.slot, 'no live worker in that slot');
  if (!knows(to.node)) return new WorkerUnavailableError(topic, to.slot, 'no such node in the cluster', to.node);
  return new WorkerUnavailableError(topic, to.slot, 'no ready worker in that slot', to.node);
}

/** Why a request for `to` on another node cannot go: the link is down, or nothing serves that address. */
export function unreachable(
  link: NodeLink | undefined,
  topic: string,
  to: { readonly node: string; readonly slot?: number },
  thisNode: string,
): Error {
  if (link && !link.up) return linkDown(topic, to.node);
  return noWorkerAt(topic, to, thisNode, (node) => link?.knows(node) ?? false);
}

/** The other node a request goes to: the one `to` names if a worker serves it there, else one that handles the topic. */
export function nodeFor(link: NodeLink | undefined, request: MessageEnvelope): string | undefined {
  const { to } = request;
  if (to !== undefined) return link?.serves(to) ? to.node : undefined;
  return link?.handlersOf(request.topic)[0];
}

/** The other nodes changed (or the link to them): leadership follows. */
export function followNodes(leadership: LeaderAppointment, link: NodeLink, event: ClusterEvent | undefined): void {
  if (event?.type === 'transport') leadership.linkChanged(event.status === 'up');
  if (event?.type === 'node-left') leadership.nodeLeft();
  // Cut off from the others, this node cannot know who leads there: it names nobody.
  leadership.remoteChanged(link.up ? link.leader() : null);
}
