/** How the NodeLink cases drive and watch their links. */
import type { ClusterEvent, LeaderEvent } from '../interfaces/cluster-event.interface.js';
import { sameLeader, type Leader } from '../leadership/leader.interface.js';
import type { LeaderLease } from '../leadership/lease-keeper.js';
import { messageEnvelope, type MessageEnvelope } from '../messaging/envelope.js';
import { CASE_TIMEOUT_MS, eventually, expect } from './conformance-runner.js';
import type { LinkedCluster, LinkedNode } from './node-link-conformance.js';

/** A goodbye is heard at once: well before any heartbeat-based expiry would take the node out. */
export const GOODBYE_MS = 3_000;
/** Messages do not wait for a heartbeat: this bounds their way through any working backend. */
export const DELIVERY_MS = CASE_TIMEOUT_MS / 2;
export const TOPIC = 'conformance.link';
export const NOWHERE = 'conformance-no-such-node';

/** Every open link up and knowing every other open node. */
export async function meet(c: LinkedCluster): Promise<void> {
  const open = c.nodes.filter((n) => !n.closed);
  const strangers = () =>
    open.flatMap((a) =>
      a.link.up ? open.filter((b) => b !== a && !a.link.knows(b.node)).map((b) => `${a.node} -> ${b.node}`) : [`${a.node} is down`],
    );
  await eventually(
    () => strangers().length === 0,
    c.settleMs,
    () => `the nodes did not meet: ${strangers().join(', ')}`,
  );
}

export async function leases(c: LinkedCluster): Promise<[LeaderLease, LeaderLease]> {
  await eventually(
    () => c.nodes.every((n) => n.link.up),
    c.settleMs,
    () => 'the links are not up',
  );
  const leases = c.nodes.map((n) => n.link.lease);
  expect(
    leases.every((l) => l !== undefined),
    'the factory says lease: true, but a link has no lease',
  );
  return leases as [LeaderLease, LeaderLease];
}

export async function leads(c: LinkedCluster, n: LinkedNode, leader: Leader | null, ms: number, why: string): Promise<void> {
  await eventually(
    () => sameLeader(n.link.leader(), leader),
    ms,
    () => `${n.node}: leader() is ${show(n.link.leader())}, not ${show(leader)} ${why}`,
  );
}

export function others(c: LinkedCluster, n: LinkedNode): LinkedNode[] {
  return c.nodes.filter((o) => o !== n);
}

export function identity(n: LinkedNode) {
  const { node, slot, id, pid } = n.local.workerList[0]!;
  return { node, slot, id, pid };
}

export function leaderOf(n: LinkedNode, epoch: number): Leader {
  const { node, slot, pid } = identity(n);
  return { node, slot, pid, epoch };
}

export function leaderEvent(n: LinkedNode, leader: Leader | null, previous: Leader | null): LeaderEvent {
  return { type: 'leader', node: n.node, leader, previous, reason: leader ? 'appointed' : 'lease-lost', at: Date.now() };
}

/** A message of `from`'s first worker, its data encoded as the links expect. */
export function envelope(c: LinkedCluster, from: LinkedNode, kind: 'publish' | 'send', value: unknown, to?: LinkedNode | string): MessageEnvelope {
  const target = typeof to === 'string' ? to : to?.node;
  return messageEnvelope(kind, {
    topic: TOPIC,
    from: identity(from),
    data: c.codec.encode(TOPIC, value),
    ...(target !== undefined && { to: { node: target, slot: 0 } }),
  });
}

/** The values `n` received on the cases' topic, decoded, in order. */
export function values(c: LinkedCluster, n: LinkedNode): unknown[] {
  return n.local.messages.filter((m) => m.message.topic === TOPIC).map((m) => c.codec.decode(m.message.data));
}

export function sameMessage(c: LinkedCluster, got: MessageEnvelope, sent: MessageEnvelope): boolean {
  const { data: gotData, ...gotRest } = got;
  const { data: sentData, ...sentRest } = sent;
  return (
    show(canonical(gotRest)) === show(canonical(sentRest)) && show(canonical(c.codec.decode(gotData))) === show(canonical(c.codec.decode(sentData)))
  );
}

/** `value` with the keys of every object in one order, so equal values show the same. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => [k, canonical(v)]),
  );
}

export function lastTransport(n: LinkedNode): 'up' | 'down' | undefined {
  const events = n.local.events.filter((e): e is Extract<ClusterEvent, { type: 'transport' }> => e?.type === 'transport');
  return events.at(-1)?.status;
}

export function workerKey(w: { readonly slot: number; readonly id: number; readonly pid: number; readonly state: string }): string {
  return `${w.slot}#${w.id}@${w.pid}:${w.state}`;
}

export function names(nodes: readonly LinkedNode[]): string {
  return nodes.map((n) => n.node).join(', ');
}

export function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
