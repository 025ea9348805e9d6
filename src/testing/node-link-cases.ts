import type { WorkerReadyEvent } from '../interfaces/cluster-event.interface.js';
import type { WorkerInfo } from '../interfaces/worker-info.interface.js';
import { eventually, expect, range, sameList } from './conformance-runner.js';
import type { LinkedNode, NodeLinkCase } from './node-link-conformance.js';
import {
  canonical,
  DELIVERY_MS,
  envelope,
  GOODBYE_MS,
  identity,
  lastTransport,
  meet,
  names,
  NOWHERE,
  others,
  sameMessage,
  show,
  TOPIC,
  values,
  workerKey,
} from './node-link-probes.js';

/** What every link must do while its nodes stay: meet, follow each other's changes, carry messages and events. */
export const MEMBERSHIP_CASES: readonly NodeLinkCase[] = [
  {
    name: "up turns true once connected, and changed() tells of it with a 'transport' event",
    nodes: 2,
    async run(c) {
      await eventually(
        () => c.nodes.every((n) => n.link.up),
        c.settleMs,
        () => `up is still false on ${names(c.nodes.filter((n) => !n.link.up))}`,
      );
      await eventually(
        () => c.nodes.every((n) => lastTransport(n) === 'up'),
        GOODBYE_MS,
        () =>
          `changed() was not told of the link going up (a 'transport' event, status 'up') on ${names(c.nodes.filter((n) => lastTransport(n) !== 'up'))}`,
      );
      for (const { node, link } of c.nodes) {
        expect(
          !!link.lease === !!c.factory.lease,
          `${node}: the link ${link.lease ? 'offers' : 'has no'} lease but the factory says lease: ${!!c.factory.lease}`,
        );
      }
    },
  },
  {
    name: "started nodes see each other: knows(), workers() and serves(), and changed() tells of a 'node-joined'",
    nodes: 3,
    async run(c) {
      await meet(c);
      for (const a of c.nodes) {
        expect(!a.link.workers().some((w) => w.node === a.node), `${a.node}: workers() lists its own workers; it lists the other nodes' only`);
        expect(!a.link.knows(NOWHERE) && !a.link.serves({ node: NOWHERE, slot: 0 }), `${a.node}: knows or serves a node that never joined`);
        for (const b of others(c, a)) {
          const listed = a.link.workers().filter((w) => w.node === b.node);
          expect(
            sameList(listed.map(workerKey), b.local.workerList.map(workerKey)),
            `${a.node} lists ${listed.map(workerKey).join(', ')} for ${b.node}; it has ${b.local.workerList.map(workerKey).join(', ')}`,
          );
          expect(a.link.serves({ node: b.node, slot: 0 }), `${a.node}: serves() is false for the ready slot 0 of ${b.node}`);
          expect(!a.link.serves({ node: b.node, slot: 1 }), `${a.node}: serves() is true for slot 1 of ${b.node}, whose worker is still starting`);
          expect(!a.link.serves({ node: b.node, slot: 7 }), `${a.node}: serves() is true for slot 7 of ${b.node}, which has no worker`);
          await eventually(
            () => a.local.events.some((e) => e?.type === 'node-joined' && e.node === b.node),
            GOODBYE_MS,
            () => `${a.node}: changed() was not told that ${b.node} joined (a 'node-joined' event)`,
          );
        }
      }
    },
  },
  {
    name: 'a change of the workers of another node shows in its workers() and serves(), and changed() is called',
    nodes: 2,
    async run(c) {
      await meet(c);
      const [a, b] = c.nodes as [LinkedNode, LinkedNode];
      const before = a.local.events.length;
      const [first, second] = b.local.workerList as [WorkerInfo, WorkerInfo];
      b.local.workerList = [first, { ...second, state: 'ready', readyAt: Date.now() }];
      await eventually(
        () => a.link.serves({ node: b.node, slot: 1 }),
        c.settleMs,
        () => `${a.node}: serves() is still false for slot 1 of ${b.node}, ready now`,
      );
      expect(a.local.events.length > before, `${a.node}: changed() was not called when the workers of ${b.node} changed`);
      b.local.workerList = [first];
      await eventually(
        () => !a.link.workers().some((w) => w.node === b.node && w.slot === 1),
        c.settleMs,
        () => `${a.node}: workers() still lists slot 1 of ${b.node}, gone now`,
      );
      expect(!a.link.serves({ node: b.node, slot: 1 }), `${a.node}: serves() is still true for slot 1 of ${b.node}, gone now`);
    },
  },
  {
    name: "publish reaches every other node's message() once, as sent and with the sender's node, and not the sender",
    nodes: 3,
    async run(c) {
      await meet(c);
      const [a, ...rest] = c.nodes as [LinkedNode, ...LinkedNode[]];
      const sent = envelope(c, a, 'publish', { hello: ['every', 'node'] });
      expect(a.link.publish(sent), `${a.node}: publish() returned false with the link up`);
      expect(a.link.publish(envelope(c, a, 'publish', 'end')), `${a.node}: publish() returned false with the link up`);
      await eventually(
        () => rest.every((n) => values(c, n).includes('end')),
        DELIVERY_MS,
        () => `the publish did not reach ${names(rest.filter((n) => !values(c, n).includes('end')))}`,
      );
      for (const n of rest) {
        const got = n.local.messages.filter((m) => m.message.topic === TOPIC);
        expect(got.length === 2, `${n.node} received ${got.length} message(s) for 2 publishes: ${show(values(c, n))}`);
        expect(got[0]!.from === a.node, `${n.node}: message() named ${got[0]!.from} as the sender, not ${a.node}`);
        expect(sameMessage(c, got[0]!.message, sent), `${n.node} received ${show(got[0]!.message)}; sent ${show(sent)}`);
      }
      // Each receiver answers; once the answers are in, a copy looped back to the sender would be too.
      for (const n of rest) expect(n.link.sendTo(a.node, envelope(c, n, 'send', 'answer', a)), `${n.node}: sendTo(${a.node}) returned false`);
      await eventually(
        () => values(c, a).filter((v) => v === 'answer').length === rest.length,
        DELIVERY_MS,
        () => `${a.node} did not receive every answer: ${show(values(c, a))}`,
      );
      expect(!values(c, a).includes('end'), `${a.node} received its own publish`);
    },
  },
  {
    name: 'sendTo a known node reaches that node only and returns true; to an unknown node it returns false',
    nodes: 3,
    async run(c) {
      await meet(c);
      const [a, b, d] = c.nodes as [LinkedNode, LinkedNode, LinkedNode];
      expect(a.link.sendTo(d.node, envelope(c, a, 'send', `for ${d.node}`, d)), `sendTo(${d.node}) returned false for a known node, link up`);
      expect(!a.link.sendTo(NOWHERE, envelope(c, a, 'send', 'nowhere', NOWHERE)), `sendTo(${NOWHERE}) returned true for a node that never joined`);
      // In order per sender: a copy of the send that went astray would reach b before this.
      expect(a.link.publish(envelope(c, a, 'publish', 'end')), `${a.node}: publish() returned false with the link up`);
      await eventually(
        () => [b, d].every((n) => values(c, n).includes('end')),
        DELIVERY_MS,
        () => `the messages did not arrive: ${b.node} has ${show(values(c, b))}, ${d.node} ${show(values(c, d))}`,
      );
      expect(sameList(values(c, d), [`for ${d.node}`, 'end']), `${d.node} received ${show(values(c, d))}`);
      expect(sameList(values(c, b), ['end']), `${b.node} received ${show(values(c, b))}`);
      expect(values(c, a).length === 0, `the sender received ${show(values(c, a))}`);
    },
  },
  {
    name: 'messages from one sender reach a receiver in the order they were sent, publish and sendTo mixed',
    nodes: 2,
    async run(c) {
      await meet(c);
      const [a, b] = c.nodes as [LinkedNode, LinkedNode];
      const count = 1_000;
      for (let i = 0; i < count; i++) {
        const sent = i % 2 === 0 ? a.link.sendTo(b.node, envelope(c, a, 'send', i, b)) : a.link.publish(envelope(c, a, 'publish', i));
        expect(sent, `message ${i} was refused with the link up`);
      }
      await eventually(
        () => values(c, b).length >= count,
        DELIVERY_MS,
        () => `${b.node} received ${values(c, b).length} of ${count}`,
      );
      expect(sameList(values(c, b), range(count)), `out of order or twice: ${show(values(c, b).slice(0, 50))}...`);
    },
  },
  {
    name: "announce(event) reaches the other nodes' changed(event) as announced, and not the announcer's",
    nodes: 2,
    async run(c) {
      await meet(c);
      const [a, b] = c.nodes as [LinkedNode, LinkedNode];
      const ready = (n: LinkedNode): WorkerReadyEvent => ({ type: 'ready', ...identity(n), bootMs: 12, at: Date.now() });
      const event = ready(a);
      a.link.announce(event);
      await eventually(
        () => b.local.events.some((e) => e?.type === 'ready'),
        DELIVERY_MS,
        () => `${b.node}: changed() was not told of the event ${a.node} announced`,
      );
      const heard = b.local.events.filter((e) => e?.type === 'ready');
      expect(heard.length === 1 && show(canonical(heard[0])) === show(canonical(event)), `${b.node} heard ${show(heard)}; announced ${show(event)}`);
      // The other way round: once b's event is in, a copy of a's own would be too.
      b.link.announce(ready(b));
      await eventually(
        () => a.local.events.some((e) => e?.type === 'ready'),
        DELIVERY_MS,
        () => `${a.node}: changed() was not told of the event ${b.node} announced`,
      );
      const own = a.local.events.filter((e) => e?.type === 'ready' && e.node === a.node);
      expect(own.length === 0, `${a.node} heard its own event: ${show(own)}`);
    },
  },
  {
    name: "an announced event comes with the announcer's workers after it: when changed(event) hears it, workers() and serves() show them",
    nodes: 2,
    async run(c) {
      await meet(c);
      const [a, b] = c.nodes as [LinkedNode, LinkedNode];
      const [first, second] = b.local.workerList as [WorkerInfo, WorkerInfo];
      const seen: string[] = [];
      a.local.onChanged = (event) => {
        if (event?.type !== 'ready' || event.node !== b.node) return;
        const listed = a.link.workers().find((w) => w.node === b.node && w.slot === 1);
        seen.push(`${listed?.state ?? 'not listed'}, serves() ${a.link.serves({ node: b.node, slot: 1 })}`);
      };
      // Slot 1 of b gets ready between two heartbeats, and b tells the others at once.
      b.local.workerList = [first, { ...second, state: 'ready', readyAt: Date.now() }];
      const { node, id, slot, pid } = second;
      b.link.announce({ type: 'ready', node, id, slot, pid, bootMs: 12, at: Date.now() });
      await eventually(
        () => seen.length > 0,
        DELIVERY_MS,
        () => `${a.node}: changed() was not told of the event ${b.node} announced`,
      );
      expect(
        seen[0] === 'ready, serves() true',
        `${a.node}: when changed() heard that slot 1 of ${b.node} is ready, the link listed it ${seen[0]}: an event must come with the membership after it, not a heartbeat later`,
      );
    },
  },
  {
    name: "handlersOf(topic) follows the other nodes' topics()",
    nodes: 3,
    async run(c) {
      await meet(c);
      const [a, b, d] = c.nodes as [LinkedNode, LinkedNode, LinkedNode];
      const handlers = (topic: string) => [...a.link.handlersOf(topic)].sort();
      await eventually(
        () => sameList(handlers(b.local.topicList[0]!), [b.node]),
        c.settleMs,
        () => `${a.node}: handlersOf(${b.local.topicList[0]}) is ${show(handlers(b.local.topicList[0]!))}; ${b.node} handles it`,
      );
      expect(handlers(a.local.topicList[0]!).length === 0, `${a.node}: handlersOf() names this node; it names the other nodes only`);
      expect(handlers('conformance.nobody').length === 0, `${a.node}: handlersOf() names a handler for a topic nobody handles`);
      const shared = 'conformance.shared';
      b.local.topicList = [...b.local.topicList, shared];
      d.local.topicList = [...d.local.topicList, shared];
      const both = [b.node, d.node].sort();
      await eventually(
        () => sameList(handlers(shared), both),
        c.settleMs,
        () => `${a.node}: handlersOf(${shared}) is ${show(handlers(shared))}; ${both.join(' and ')} handle it now`,
      );
      b.local.topicList = b.local.topicList.filter((t) => t !== shared);
      await eventually(
        () => sameList(handlers(shared), [d.node]),
        c.settleMs,
        () => `${a.node}: handlersOf(${shared}) is ${show(handlers(shared))}; only ${d.node} handles it now`,
      );
    },
  },
];
