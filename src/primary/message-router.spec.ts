import type { Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { controlEnvelope, unpack } from '../channel/channel-protocol.js';
import { ChannelToWorker, type WorkerSays } from '../channel/channel-to-worker.js';
import { CLUSTER_NAMESPACE } from '../cluster.constants.js';
import type { DropReason, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import { envelope, messageEnvelope, type ClusterEnvelope, type MessageEnvelope } from '../messaging/envelope.js';
import { MessageRouter } from './message-router.js';
import { SlotTable, type Member } from './slot-table.js';
import { WorkerProcess } from './worker-process.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A stand-in for node:cluster's Worker: records what the primary writes to it, copied as IPC would. */
function fakeWorker(id: number) {
  const received: ClusterEnvelope[] = [];
  const emitter = new EventEmitter();
  const worker = Object.assign(emitter, {
    id,
    isConnected: () => true,
    send: (m: ClusterEnvelope) => received.push(structuredClone(m)),
  }) as unknown as Worker;
  /** Envelopes as the worker sees them, batches unpacked, message rows read back as envelopes. */
  const messages = () => {
    const read: MessageEnvelope[] = [];
    for (const m of received) {
      unpack(
        m,
        (item) => read.push(item as unknown as MessageEnvelope),
        (reason) => {
          throw new Error(reason);
        },
      );
    }
    return read;
  };
  return { worker, received, messages };
}

interface Limits {
  readonly node: string;
  readonly serialization: 'json';
  readonly maxMessageBytes: number;
  readonly maxQueueBytes: number;
  readonly maxPendingRequests: number;
}

const LIMITS: Limits = { node: 'n1', serialization: 'json', maxMessageBytes: 1_024, maxQueueBytes: 65_536, maxPendingRequests: 100 };

/**
 * The primary's message path as the Supervisor wires it: `size` workers in slots 0..size-1 (worker ids
 * 1..size), each with its channel, in one slot table, each of which said `hello`. `identity(slot)` is
 * who is in a slot; `drops` and `failures` record what was reported; `says` overrides what the
 * primary does with what a worker says.
 */
function cluster(size: number, limits: Partial<Limits> = {}, says: Partial<WorkerSays> = {}) {
  const settings = { ...LIMITS, ...limits };
  const table = new SlotTable(Math.max(size, 2));
  const drops: Array<{ worker: WorkerIdentity; reason: DropReason; detail: string }> = [];
  const failures: unknown[] = [];
  const congestion: Array<[number, boolean]> = [];
  const hellos: number[] = [];
  const router = new MessageRouter(settings, table, {
    dropped: (worker, reason, detail) => drops.push({ worker, reason, detail }),
    failed: (error) => failures.push(error),
  });
  const identity = (slot: number): WorkerIdentity => ({ node: 'n1', id: slot + 1, slot, pid: 1000 + slot });
  /** A worker joins `its` slot: forked, ready, and (unless it is `quiet`) listening. */
  const join = (worker: Worker, who: WorkerIdentity) => {
    const process = new WorkerProcess(worker, who);
    process.ready();
    const channel: ChannelToWorker = new ChannelToWorker(worker, who, settings, {
      hello: () => hellos.push(who.id),
      ready: () => undefined,
      standby: () => undefined,
      restart: () => undefined,
      released: () => undefined,
      handlers: (topics) => void (member.topics = new Set(topics)),
      message: (message) => router.route(member, message),
      handedConnection: (port, connection) => router.handToSuccessor(member, port, connection),
      listen: () => undefined,
      accepted: () => undefined,
      scale: () => undefined,
      dropped: (reason, detail) => drops.push({ worker: who, reason, detail }),
      congestion: (congested) => congestion.push([who.id, congested]),
      failed: (error) => failures.push(error),
      ...says,
    });
    const member: Member = { identity: who, process, channel, topics: new Set(), pending: 0, lastSeen: Date.now(), standby: false };
    table.add(member, false);
    return member;
  };
  const workers = Array.from({ length: size }, (_, slot) => ({ slot, ...fakeWorker(slot + 1) }));
  for (const w of workers) {
    join(w.worker, identity(w.slot));
    w.worker.emit('message', controlEnvelope.hello());
  }
  /** Worker in `slot` writes `message` on its channel. */
  const write = (slot: number, message: unknown) => workers[slot]!.worker.emit('message', message);
  const request = (slot: number, { to, ...fields }: { topic?: string; id: string; to?: number; data?: string; timeoutMs?: number }) =>
    write(slot, messageEnvelope('request', { topic: 't', timeoutMs: 1_000, from: identity(slot), to: at(to), ...fields }));
  /** The worker in `slot` answers what it was asked, with the id it was given. */
  const answer = (slot: number, asked: MessageEnvelope, data: string) =>
    write(slot, messageEnvelope('reply', { topic: asked.topic, id: asked.id, from: identity(slot), to: at(asked.from.slot), data }));
  /** The worker with this id exited, as the Supervisor handles it. */
  const leave = (id: number) => {
    const member = table.member(id)!;
    member.channel.close();
    table.remove(member);
    router.workerGone(member);
  };
  /** The worker with this id stopped answering, as the Supervisor handles it. */
  const unavailable = (id: number, reason: string) => {
    const member = table.member(id)!;
    member.process.unresponsive();
    router.unavailable(member, reason);
  };
  const congested = (id: number) => table.member(id)!.channel.congested;
  return { router, workers, identity, write, request, answer, drops, failures, congestion, hellos, join, leave, unavailable, congested };
}

/** The address of a slot of this node. */
function at(slot: number): { node: string; slot: number };
function at(slot: number | undefined): { node: string; slot: number } | undefined;
function at(slot: number | undefined) {
  return slot === undefined ? undefined : { node: 'n1', slot };
}

/** `[id, data or error code]` of each message. */
const outcomes = (messages: MessageEnvelope[]) => messages.map((m) => [m.id, m.data ?? m.error?.code]);

describe('the primary message path (channels, slot table, MessageRouter)', () => {
  it('publishes to every other listening worker', async () => {
    const { workers, write, identity, hellos } = cluster(3);
    expect(hellos).toEqual([1, 2, 3]);
    write(0, messageEnvelope('publish', { topic: 't', from: identity(0), data: '1' }));
    await tick();
    expect(workers.map((w) => w.messages().length)).toEqual([0, 1, 1]);
    expect(workers[1]!.messages()[0]).toMatchObject({ kind: 'publish', topic: 't', data: '1', from: identity(0) });
  });

  it('stamps from with the worker whose channel a message came on', async () => {
    const { workers, write, identity } = cluster(2);
    write(0, messageEnvelope('publish', { topic: 'forged', from: { node: 'n1', id: 99, slot: 1, pid: 1 }, data: '1' }));
    write(0, envelope('publish', { topic: 'anonymous', data: '2' }));
    await tick();
    expect(workers[1]!.messages().map((m) => [m.topic, m.from])).toEqual([
      ['forged', identity(0)],
      ['anonymous', identity(0)],
    ]);
  });

  it('sends a request without a slot round-robin to the workers that announced the topic', async () => {
    const { workers, write, request } = cluster(3);
    for (const slot of [0, 2]) write(slot, controlEnvelope.handlers(['sum']));
    for (let i = 0; i < 4; i++) request(1, { topic: 'sum', id: `r${i}`, data: String(i) });
    await tick();
    expect(workers[0]!.messages().map((m) => m.data)).toEqual(['0', '2']);
    expect(workers[2]!.messages().map((m) => m.data)).toEqual(['1', '3']);
  });

  it('answers at once with an error when no worker handles the topic or the slot is empty', async () => {
    const { workers, request } = cluster(2);
    request(0, { topic: 'nobody', id: 'a' });
    request(0, { id: 'b', to: 5 });
    await tick();
    const back = workers[0]!.messages();
    expect(outcomes(back)).toEqual([
      ['a', 'CLUSTER_ERR_NO_HANDLER'],
      ['b', 'CLUSTER_ERR_WORKER_UNAVAILABLE'],
    ]);
    expect(back.map((m) => [m.kind, m.to, m.from.slot])).toEqual([
      ['reply', at(0), -1],
      ['reply', at(0), -1],
    ]);
  });

  it('answers at once that a node is unknown, and drops a send to it', async () => {
    const { workers, write, identity } = cluster(2);
    const elsewhere = { node: 'n2', slot: 1 };
    write(0, messageEnvelope('request', { topic: 't', id: 'far', timeoutMs: 1_000, from: identity(0), to: elsewhere }));
    write(0, messageEnvelope('send', { topic: 't', from: identity(0), to: elsewhere, data: '1' }));
    await tick();
    expect(workers[0]!.messages()).toEqual([
      expect.objectContaining({
        kind: 'reply',
        id: 'far',
        error: expect.objectContaining({ code: 'CLUSTER_ERR_WORKER_UNAVAILABLE', node: 'n2', slot: 1 }),
      }),
    ]);
    expect(workers[1]!.messages()).toEqual([]);
  });

  it('routes a reply back to its requester once, under the id the requester gave', async () => {
    const { workers, request, answer } = cluster(2);
    request(0, { id: 'q1', to: 1 });
    await tick();
    const asked = workers[1]!.messages()[0]!;
    expect(asked.from.slot).toBe(0);
    answer(1, asked, '"ok"');
    answer(1, asked, '"again"');
    await tick();
    expect(outcomes(workers[0]!.messages())).toEqual([['q1', '"ok"']]);
    expect(workers[0]!.messages()[0]).toMatchObject({ kind: 'reply', to: at(0), from: { slot: 1 } });
  });

  it('keeps requests of different workers with the same id apart', async () => {
    const { workers, request, answer } = cluster(3);
    request(0, { id: '1', to: 2, data: '"from 0"' });
    request(1, { id: '1', to: 2, data: '"from 1"' });
    await tick();
    for (const asked of workers[2]!.messages()) answer(2, asked, asked.data as string);
    await tick();
    expect(outcomes(workers[0]!.messages())).toEqual([['1', '"from 0"']]);
    expect(outcomes(workers[1]!.messages())).toEqual([['1', '"from 1"']]);
  });

  it('fails requests to a worker that leaves with WorkerUnavailableError', async () => {
    const { leave, workers, request } = cluster(3);
    request(0, { id: 'q2', to: 2 });
    leave(3);
    await tick();
    const back = workers[0]!.messages();
    expect(outcomes(back)).toEqual([['q2', 'CLUSTER_ERR_WORKER_UNAVAILABLE']]);
    expect(back[0]!.error?.message).toMatch(/slot 2 \(pid 1002\) exited before replying/);
  });

  it('does not deliver to a worker whose transport has not said hello', async () => {
    const { join, write, identity, request } = cluster(1);
    const late = fakeWorker(9);
    join(late.worker, { node: 'n1', id: 9, slot: 1, pid: 1009 });
    write(0, messageEnvelope('publish', { topic: 't', from: identity(0), data: '1' }));
    request(0, { id: 'early', to: 1 });
    await tick();
    expect(late.received).toEqual([]);
    late.worker.emit('message', controlEnvelope.hello());
    write(0, messageEnvelope('publish', { topic: 't', from: identity(0), data: '2' }));
    await tick();
    expect(late.messages().map((m) => m.data)).toEqual(['2']);
  });

  it.each<[string, unknown]>([
    ['handlers whose data is 5', envelope('handlers', { data: 5 })],
    ['a batch whose data is 5', envelope('batch', { data: 5 })],
    ['a batch whose data is {a:1}', envelope('batch', { data: { a: 1 } })],
    ['a batch of [null]', envelope('batch', { data: [null] })],
    ['a request with timeoutMs "forever"', { ...envelope('request', { topic: 't', id: 'r', to: at(1) }), timeoutMs: 'forever' }],
    ['a publish over maxMessageBytes', envelope('publish', { topic: 't', data: 'x'.repeat(1_025) })],
    ['an unknown kind', envelope('gossip', { topic: 't' })],
    ['a control kind of the primary', controlEnvelope.shutdown()],
    ['an envelope of version 1', { ...envelope('publish', { topic: 't', data: '1' }), v: 1 }],
  ])('reports %s as malformed, delivers nothing and does not throw', async (_, message) => {
    const { workers, write, identity, drops, failures } = cluster(2);
    expect(() => write(0, message)).not.toThrow();
    await tick();
    expect(drops).toEqual([{ worker: identity(0), reason: 'malformed', detail: expect.any(String) }]);
    expect(failures).toEqual([]);
    expect(workers[1]!.received).toEqual([]);
  });

  it("leaves alone what is not the library's (the application's own IPC)", () => {
    const { write, drops } = cluster(1);
    write(0, { cmd: 'app-message', kind: 'batch', data: 5 });
    write(0, 'plain text');
    write(0, { ns: `${CLUSTER_NAMESPACE}-other`, v: 1, kind: 'gossip' });
    expect(drops).toEqual([]);
  });

  it('drops a reply from a worker the request was not sent to, and still delivers the real one', async () => {
    const { workers, request, answer, drops, identity } = cluster(3);
    request(0, { id: 'q', to: 1 });
    await tick();
    const asked = workers[1]!.messages()[0]!;
    answer(2, asked, '"impostor"');
    await tick();
    expect(workers[0]!.messages()).toEqual([]);
    expect(drops).toEqual([{ worker: identity(2), reason: 'unexpected-reply', detail: expect.any(String) }]);
    answer(1, asked, '"real"');
    await tick();
    expect(outcomes(workers[0]!.messages())).toEqual([['q', '"real"']]);
  });

  it('answers RequestLimitError at once beyond maxPendingRequests of one worker, without affecting others', async () => {
    const { workers, request, answer } = cluster(3, { maxPendingRequests: 2 });
    for (const id of ['a', 'b', 'c']) request(0, { id, to: 1 });
    request(2, { id: 'other', to: 1 });
    await tick();
    expect(outcomes(workers[0]!.messages())).toEqual([['c', 'CLUSTER_ERR_REQUEST_LIMIT']]);
    expect(workers[1]!.messages()).toHaveLength(3);

    answer(1, workers[1]!.messages()[0]!, '"a done"'); // one slot free again
    request(0, { id: 'd', to: 1 });
    await tick();
    expect(workers[1]!.messages()).toHaveLength(4);
  });

  describe('with a receiver that never gives credit', () => {
    /** Publishes 8,000 messages of about 1 KiB from slot 0, 50 a tick: over slot 1's credit window and queue. */
    async function flood() {
      const c = cluster(2);
      const data = 'x'.repeat(1_000);
      for (let round = 0; round < 160; round++) {
        for (let i = 0; i < 50; i++) c.write(0, messageEnvelope('publish', { topic: 't', from: c.identity(0), data }));
        await tick();
      }
      return c;
    }

    it('drops publishes beyond the queue bound and reports them against the receiver', async () => {
      const { congested, workers, drops, congestion, identity } = await flood();
      const delivered = workers[1]!.messages().length;
      expect(delivered).toBeLessThan(8_000);
      expect(drops.length).toBeGreaterThan(0);
      expect(drops.every((d) => d.reason === 'queue-full' && d.worker.slot === 1)).toBe(true);
      expect(drops[0]!.worker).toEqual(identity(1));
      expect(congested(2)).toBe(true);
      expect(congestion).toEqual([[2, true]]);
    });

    it('fails a request to it with QueueFullError', async () => {
      const { workers, request, drops } = await flood();
      drops.length = 0;
      request(0, { id: 'late', to: 1 });
      await tick();
      expect(outcomes(workers[0]!.messages())).toEqual([['late', 'CLUSTER_ERR_QUEUE_FULL']]);
      expect(drops).toEqual([{ worker: expect.objectContaining({ slot: 1 }), reason: 'queue-full', detail: expect.any(String) }]);
    });

    it('delivers again once the receiver gives credit', async () => {
      const { congested, workers, write, congestion } = await flood();
      const before = workers[1]!.messages().length;
      write(1, controlEnvelope.credit(16_777_216));
      await tick();
      expect(workers[1]!.messages().length).toBeGreaterThan(before);
      expect(congested(2)).toBe(false);
      expect(congestion).toContainEqual([2, false]);
    });
  });

  it('a worker found unresponsive fails in-flight requests to the worker and refuses new ones at once', async () => {
    const { unavailable, workers, request, write, identity } = cluster(3);
    for (const slot of [1, 2]) write(slot, controlEnvelope.handlers(['sum']));
    request(0, { id: 'in-flight', to: 1 });
    await tick();
    unavailable(2, 'it stopped answering');
    request(0, { id: 'after', to: 1 });
    for (const id of ['any1', 'any2']) request(0, { id, topic: 'sum' });
    write(0, messageEnvelope('publish', { topic: 'news', from: identity(0), data: '1' }));
    await tick();
    const back = workers[0]!.messages();
    expect(outcomes(back)).toEqual([
      ['in-flight', 'CLUSTER_ERR_WORKER_UNAVAILABLE'],
      ['after', 'CLUSTER_ERR_WORKER_UNAVAILABLE'],
    ]);
    expect(back[0]!.error?.message).toContain('it stopped answering');
    expect(workers[1]!.messages().map((m) => m.topic)).toEqual(['t']); // only what it got before
    expect(workers[2]!.messages().map((m) => m.topic)).toEqual(['sum', 'sum', 'news']);
  });

  it('reports a callback that throws and handles the next envelope of the batch', () => {
    const boom = new Error('boom');
    const readies: number[] = [];
    let first = true;
    const { write, failures } = cluster(
      1,
      {},
      {
        ready: () => {
          readies.push(1);
          if (first) {
            first = false;
            throw boom;
          }
        },
      },
    );
    expect(() => write(0, controlEnvelope.batch([controlEnvelope.ready(), controlEnvelope.ready()]))).not.toThrow();
    expect(failures).toEqual([boom]);
    expect(readies).toEqual([1, 1]);
  });

  // `receive` reports a malformed outer envelope (wrong version, bad batch) outside the try that guards
  // the callbacks, so a throwing `dropped` escapes `receive` there.
  it('does not let a throwing dropped() escape receive for a malformed batch', () => {
    const { write, failures } = cluster(
      1,
      {},
      {
        dropped: () => {
          throw new Error('boom');
        },
      },
    );
    expect(() => write(0, envelope('batch', { data: 5 }))).not.toThrow();
    expect(failures).toHaveLength(1);
  });
});
