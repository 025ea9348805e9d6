import { sameLeader } from '../leadership/leader.interface.js';
import { eventually, expect } from './conformance-runner.js';
import type { LinkedNode, NodeLinkCase } from './node-link-conformance.js';
import {
  DELIVERY_MS,
  envelope,
  GOODBYE_MS,
  lastTransport,
  leaderEvent,
  leaderOf,
  leads,
  leases,
  meet,
  names,
  show,
  values,
} from './node-link-probes.js';

/** What every link must do as leaders change, nodes leave and the backend fails, and its lease if it has one. */
export const LIFECYCLE_CASES: readonly NodeLinkCase[] = [
  {
    name: 'leader() is the latest epoch the other nodes announce, by heartbeat or event, and follows a dismissal',
    nodes: 3,
    async run(c) {
      await meet(c);
      const [a, b, d] = c.nodes as [LinkedNode, LinkedNode, LinkedNode];
      expect(a.link.leader() === null, `${a.node}: leader() is ${show(a.link.leader())} while no node appointed one`);
      const first = leaderOf(b, 3);
      b.local.leaderNow = first;
      await leads(c, a, first, c.settleMs, 'as its node reports');
      const later = leaderOf(d, 4);
      d.local.leaderNow = later;
      d.link.announce(leaderEvent(d, later, null));
      await leads(c, a, later, c.settleMs, 'announced with a later epoch');
      expect(
        a.local.events.some((e) => e?.type === 'leader' && sameLeader(e.leader, later)),
        `${a.node}: changed() was not told of the leader event ${d.node} announced`,
      );
      d.local.leaderNow = null;
      d.link.announce(leaderEvent(d, null, later));
      await leads(c, a, first, c.settleMs, `still appointed by ${b.node} once ${d.node} dismissed its own`);
      b.local.leaderNow = null;
      await leads(c, a, null, c.settleMs, 'no node appoints one any more');
    },
  },
  {
    name: "close() says goodbye: the others call gone(node) and forget it at once, and changed() tells of a 'node-left' (bye)",
    nodes: 3,
    async run(c) {
      await meet(c);
      const [a, b, d] = c.nodes as [LinkedNode, LinkedNode, LinkedNode];
      const leader = leaderOf(b, 9);
      b.local.leaderNow = leader;
      await leads(c, a, leader, c.settleMs, 'as its node reports');
      await c.close(1);
      for (const n of [a, d]) {
        await eventually(
          () => n.local.departed.includes(b.node) && !n.link.knows(b.node),
          GOODBYE_MS,
          () => `${n.node}: ${n.link.knows(b.node) ? 'still knows' : 'did not call gone() for'} ${b.node} ${GOODBYE_MS} ms after its close()`,
        );
        const left = n.local.events.find((e) => e?.type === 'node-left' && e.node === b.node);
        expect(
          left?.type === 'node-left' && left.reason === 'bye',
          `${n.node}: changed() was told ${show(left)}, not a 'node-left' with reason 'bye'`,
        );
        expect(!n.link.workers().some((w) => w.node === b.node), `${n.node}: workers() still lists the workers of ${b.node}`);
        expect(!n.link.serves({ node: b.node, slot: 0 }), `${n.node}: serves() is still true for ${b.node}`);
        expect(n.link.handlersOf(b.local.topicList[0]!).length === 0, `${n.node}: handlersOf() still names ${b.node}`);
        expect(n.link.leader() === null, `${n.node}: leader() still names ${show(n.link.leader())} of ${b.node}`);
      }
      expect(a.link.knows(d.node) && d.link.knows(a.node), 'the nodes that stayed no longer know each other');
    },
  },
  {
    name: 'while the backend is cut, up is false, every call fails, gone() is called and membership is kept; once restored, it all comes back and nothing sent meanwhile arrives',
    nodes: 2,
    needs: 'outage',
    async run(c) {
      await meet(c);
      const [a, b] = c.nodes as [LinkedNode, LinkedNode];
      await c.backend.cut!();
      await eventually(
        () => c.nodes.every((n) => !n.link.up && lastTransport(n) === 'down'),
        c.settleMs,
        () =>
          `up is still true, or changed() was not told of a 'transport' 'down', on ${names(c.nodes.filter((n) => n.link.up || lastTransport(n) !== 'down'))}`,
      );
      for (const [n, other] of [
        [a, b],
        [b, a],
      ] as const) {
        expect(n.local.departed.includes(other.node), `${n.node}: gone(${other.node}) was not called when the link went down`);
        expect(n.link.knows(other.node), `${n.node}: forgot ${other.node} while the link was down; membership stays as last heard`);
      }
      expect(!a.link.publish(envelope(c, a, 'publish', 'during')), 'publish() returned true with the link down');
      expect(!a.link.sendTo(b.node, envelope(c, a, 'send', 'during', b)), 'sendTo() returned true with the link down');
      await c.backend.restore!();
      await meet(c);
      await eventually(
        () => c.nodes.every((n) => lastTransport(n) === 'up'),
        GOODBYE_MS,
        () => `changed() was not told of the link coming back (a 'transport' 'up') on ${names(c.nodes.filter((n) => lastTransport(n) !== 'up'))}`,
      );
      // Delivery is at most once: a publish made as the link comes back may be lost, the next ones not.
      await eventually(
        () => values(c, b).length > 0 || (a.link.publish(envelope(c, a, 'publish', 'after')) && false),
        DELIVERY_MS,
        () => `${b.node} did not receive the publishes made after the link came back`,
      );
      const got = values(c, b);
      expect(
        got.every((v) => v === 'after'),
        `${b.node} received ${show(got)}: what was refused while down must never arrive`,
      );
    },
  },
  {
    name: 'the lease has one holder at a time: only it renews and bumps, a release frees it for another node, epochs only grow',
    nodes: 2,
    needs: 'lease',
    async run(c) {
      const [a, b] = await leases(c);
      const first = await a.acquire(10_000, 0);
      expect(first !== null && Number.isSafeInteger(first) && first >= 0, `the first acquire gave ${show(first)}, not an epoch`);
      expect((await b.acquire(10_000, 0)) === null, 'a second node acquired a lease another node holds');
      expect((await b.renew(10_000)) === false, 'a node that does not hold the lease renewed it');
      expect((await b.bump()) === null, 'a node that does not hold the lease bumped its epoch');
      await b.release();
      expect(await a.renew(10_000), "the holder could not renew after another node's release: that release freed it");
      const bumped = await a.bump();
      expect(bumped !== null && bumped > first, `the holder's bump gave ${show(bumped)} after epoch ${first}`);
      await a.release();
      const next = await b.acquire(10_000, 0);
      expect(next !== null && next > bumped, `after the release the other node acquired ${show(next)}, not an epoch above ${bumped}`);
      expect((await a.acquire(10_000, 0)) === null, 'the former holder acquired the lease the other node holds now');
      await b.release();
      const past = next + 100;
      const raised = await a.acquire(10_000, past);
      expect(raised !== null && raised > past, `acquire(ttl, ${past}) gave ${show(raised)}: the epoch must go past the highest the node has seen`);
    },
  },
  {
    name: 'a lease that is not renewed runs out after its ttl: then another node takes it, with a later epoch',
    nodes: 2,
    needs: 'lease',
    async run(c) {
      const [a, b] = await leases(c);
      const ttlMs = 1_500;
      const first = await a.acquire(ttlMs, 0);
      expect(first !== null, 'the first acquire gave no epoch');
      expect((await b.acquire(ttlMs, 0)) === null, 'a second node acquired the lease within its ttl');
      let taken: number | null = null;
      await eventually(
        async () => (taken = await b.acquire(ttlMs, 0)) !== null,
        ttlMs + c.settleMs,
        () => `the lease was still held ${ttlMs + c.settleMs} ms after a ${ttlMs} ms acquire without renewal`,
      );
      expect(taken! > first, `the epoch went from ${first} to ${show(taken)}`);
      expect((await a.renew(ttlMs)) === false, 'the former holder renewed a lease another node has taken');
    },
  },
];
