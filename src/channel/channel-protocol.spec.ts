import { CLUSTER_NAMESPACE, ENVELOPE_VERSION } from '../cluster.constants.js';
import { envelope, messageEnvelope } from '../messaging/envelope.js';
import type { Unchecked, WireLimits } from '../transports/message-validation.js';
import {
  controlEnvelope,
  MAX_BATCH,
  MAX_HANDOFF_HEAD_BYTES,
  readFromPrimary,
  readFromWorker,
  toWire,
  unpack,
  type LifecycleData,
} from './channel-protocol.js';

const limits: WireLimits = { serialization: 'json', maxMessageBytes: 1_024 };
const sender = { node: 'n1', id: 1, slot: 0, pid: 100 };
/** Reads what a worker wrote, or what the primary wrote, as it arrives: unchecked. */
const fromWorker = (message: object) => readFromWorker(message as Unchecked, limits, sender);
const fromPrimary = (message: object) => readFromPrimary(message as Unchecked, limits);

/** What `unpack` hands over: the envelopes visited and the reasons reported, in order. */
function unpacked(message: object) {
  const visited: Unchecked[] = [];
  const malformed: string[] = [];
  unpack(
    message,
    (item) => visited.push(item),
    (reason) => malformed.push(reason),
  );
  return { visited, malformed };
}

const lifecycle: LifecycleData = {
  workers: [{ node: 'n1', id: 1, slot: 0, pid: 100, state: 'ready', startedAt: 1, readyAt: 2, restarts: 0, congested: false }],
  state: { expectedWorkers: 1, crashLoop: false, dropped: { malformed: 0, 'unexpected-reply': 0, 'queue-full': 0 } },
};

describe('unpack', () => {
  it('visits a lone envelope as itself', () => {
    const hello = controlEnvelope.hello();
    expect(unpacked(hello)).toEqual({ visited: [hello], malformed: [] });
  });

  it('visits each envelope of a batch, in order', () => {
    const items = [controlEnvelope.ready(), controlEnvelope.credit(5), controlEnvelope.heartbeat()];
    expect(unpacked(controlEnvelope.batch(items))).toEqual({ visited: items, malformed: [] });
  });

  it('reports an envelope of another version without visiting it', () => {
    expect(unpacked({ ns: CLUSTER_NAMESPACE, v: 1, kind: 'hello' })).toEqual({ visited: [], malformed: [expect.any(String)] });
    expect(unpacked({ ns: CLUSTER_NAMESPACE, kind: 'hello' }).malformed).toHaveLength(1);
  });

  it.each([5, { a: 1 }, 'items', null])('reports a batch whose data is %p', (data) => {
    expect(unpacked(envelope('batch', { data }))).toEqual({ visited: [], malformed: [expect.any(String)] });
  });

  it(`reports a batch of more than ${MAX_BATCH} envelopes, and accepts exactly ${MAX_BATCH}`, () => {
    const items = (n: number) => Array.from({ length: n }, () => controlEnvelope.heartbeat());
    expect(unpacked(controlEnvelope.batch(items(MAX_BATCH + 1)))).toEqual({ visited: [], malformed: [expect.any(String)] });
    expect(unpacked(controlEnvelope.batch(items(MAX_BATCH))).visited).toHaveLength(MAX_BATCH);
  });

  it('reports bad items one by one and still visits the good ones', () => {
    const good = [controlEnvelope.ready(), controlEnvelope.heartbeat()];
    const items = [
      null,
      good[0],
      7,
      { kind: 'hello' }, // no namespace or version
      { ns: CLUSTER_NAMESPACE, v: 1, kind: 'hello' }, // an older version
      controlEnvelope.batch([controlEnvelope.hello()]), // a batch inside a batch
      good[1],
    ];
    const { visited, malformed } = unpacked(envelope('batch', { data: items }));
    expect(visited).toEqual(good);
    expect(malformed).toHaveLength(5);
  });
});

describe('toWire', () => {
  const from = { node: 'n1', id: 2, slot: 1, pid: 200 };
  const send = messageEnvelope('send', { topic: 't', from, to: { node: 'n1', slot: 0 }, data: '{"a":1}' });
  const request = messageEnvelope('request', { topic: 'q', id: '7', from, data: '1', timeoutMs: 500 });
  /** As IPC carries it (JSON), then as the other end reads it. */
  const carried = (message: object) => unpacked(JSON.parse(JSON.stringify(message)) as object);

  it('writes messages as rows in a batch, read back as the same envelopes', () => {
    const wire = toWire(controlEnvelope.batch([controlEnvelope.credit(5), send, request]), true);
    expect(wire.kind).toBe('batch');
    expect(Array.isArray((wire.data as unknown[])[1])).toBe(true);
    expect(carried(wire)).toEqual({ visited: [controlEnvelope.credit(5), send, request], malformed: [] });
  });

  it('writes a lone message as a batch of one row, and a lone control envelope as itself', () => {
    expect(carried(toWire(send, true))).toEqual({ visited: [send], malformed: [] });
    expect(toWire(controlEnvelope.hello(), true)).toEqual(controlEnvelope.hello());
  });

  it("leaves the sender out on a worker's side: the primary stamps the worker whose channel it came on", () => {
    const { visited } = carried(toWire(send, false));
    expect(visited[0]!.from).toBeUndefined();
    expect(fromWorker(visited[0]!)).toMatchObject({ kind: 'send', from: sender, data: '{"a":1}' });
  });

  it('reports rows of the wrong length, and checks the fields of the others as any envelope', () => {
    const { visited, malformed } = unpacked(envelope('batch', { data: [[], ['send'], new Array(13).fill(1), ['send', 't', 5, 'n1', 0]] }));
    expect(malformed).toHaveLength(3);
    expect(visited).toHaveLength(1);
    expect(typeof fromWorker(visited[0]!)).toBe('string'); // data 5 is not JSON text
  });
});

describe('readFromWorker', () => {
  it.each(['hello', 'restart', 'heartbeat'] as const)('reads %s', (kind) => {
    expect(fromWorker(controlEnvelope[kind]())).toEqual({ kind });
  });

  it("reads a standby's word that it waits, listening or not", () => {
    expect(fromWorker(controlEnvelope.standby(true))).toEqual({ kind: 'standby', listening: true });
    expect(fromWorker(controlEnvelope.standby(false))).toEqual({ kind: 'standby', listening: false });
    expect(fromWorker(envelope('standby'))).toEqual({ kind: 'standby', listening: false });
  });

  it('reads ready, with or without the jobs that will run on every worker', () => {
    expect(fromWorker(controlEnvelope.ready())).toEqual({ kind: 'ready', notes: {} });
    expect(fromWorker(controlEnvelope.ready({}))).toEqual({ kind: 'ready', notes: {} });
    const jobs = ['Tasks.report (@Cron)', 'nightly'];
    expect(fromWorker(controlEnvelope.ready({ everyWorkerJobs: jobs }))).toEqual({ kind: 'ready', notes: { everyWorkerJobs: jobs } });
  });

  it.each([
    ['not an array', 'Tasks.report'],
    ['an empty name', ['']],
    ['a name that is not a string', [7]],
    ['a name over 512 characters', ['x'.repeat(513)]],
    ['more than 1,000 names', Array.from({ length: 1_001 }, (_, i) => `job${i}`)],
  ])('rejects ready whose jobs are %s', (_case, everyWorkerJobs) => {
    expect(fromWorker(envelope('ready', { data: { everyWorkerJobs } }))).toEqual(expect.stringContaining('ready: everyWorkerJobs'));
  });

  it('reads the topics a worker handles and the credit it gives', () => {
    expect(fromWorker(controlEnvelope.handlers(['a', 'b']))).toEqual({ kind: 'handlers', topics: ['a', 'b'] });
    expect(fromWorker(controlEnvelope.handlers([]))).toEqual({ kind: 'handlers', topics: [] });
    expect(fromWorker(controlEnvelope.credit(4_096))).toEqual({ kind: 'credit', bytes: 4_096 });
    expect(fromWorker(controlEnvelope.credit(0))).toEqual({ kind: 'credit', bytes: 0 });
  });

  it.each([5, 'a', null, [''], ['ok', 3], Array.from({ length: 10_001 }, (_, i) => `t${i}`)])('rejects handlers whose data is %p', (data) => {
    expect(typeof fromWorker(envelope('handlers', { data }))).toBe('string');
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, '10', undefined])('rejects credit of %p', (data) => {
    expect(typeof fromWorker(envelope('credit', { data }))).toBe('string');
  });

  it.each(['shutdown', 'lifecycle', 'batch', 'gossip', undefined])('rejects kind %p, which a worker does not send', (kind) => {
    expect(typeof fromWorker({ ns: CLUSTER_NAMESPACE, v: ENVELOPE_VERSION, kind, data: lifecycle })).toBe('string');
  });

  it('reads listen and accepted, and a handoff without bytes or an id', () => {
    const request = { seq: 1, port: 3000, address: null, index: 0 };
    expect(fromWorker(controlEnvelope.listen(request))).toEqual({ kind: 'listen', request });
    expect(fromWorker(controlEnvelope.listen({ ...request, port: 0, address: '127.0.0.1', index: 2 }))).toEqual({
      kind: 'listen',
      request: { ...request, port: 0, address: '127.0.0.1', index: 2 },
    });
    expect(fromWorker(controlEnvelope.accepted(7, true))).toEqual({ kind: 'accepted', id: 7, accepted: true });
    expect(fromWorker(controlEnvelope.accepted(8, false))).toEqual({ kind: 'accepted', id: 8, accepted: false });
    expect(fromWorker(controlEnvelope.handoff(4000))).toEqual({ kind: 'handoff', port: 4000 });
    expect(typeof fromWorker(controlEnvelope.handoff(4000, undefined, 3))).toBe('string');
  });

  it.each<[string, unknown]>([
    ['no seq', { port: 3000, address: null, index: 0 }],
    ['a port out of range', { seq: 1, port: 70_000, address: null, index: 0 }],
    ['an address that is not a string', { seq: 1, port: 3000, address: 5, index: 0 }],
    ['an empty address', { seq: 1, port: 3000, address: '', index: 0 }],
    ['a negative index', { seq: 1, port: 3000, address: null, index: -1 }],
  ])('rejects a listen with %s', (_, data) => {
    expect(typeof fromWorker(envelope('listen', { data }))).toBe('string');
  });

  it.each([undefined, { id: 0, accepted: true }, { id: 1, accepted: 'yes' }, { id: 1.5, accepted: true }])(
    'rejects accepted with data %p',
    (data) => {
      expect(typeof fromWorker(envelope('accepted', { data }))).toBe('string');
    },
  );

  it('reads scale: a count or a change of it, as the command takes it', () => {
    expect(fromWorker(controlEnvelope.scale({ seq: 1, workers: '4' }))).toEqual({ kind: 'scale', request: { seq: 1, workers: '4' } });
    expect(fromWorker(controlEnvelope.scale({ seq: 2, workers: '-2' }))).toEqual({ kind: 'scale', request: { seq: 2, workers: '-2' } });
    expect(fromWorker(envelope('scale', { data: { seq: 3, workers: 4 } }))).toEqual({ kind: 'scale', request: { seq: 3, workers: '4' } });
  });

  it.each<[string, unknown]>([
    ['no seq', { workers: '4' }],
    ['a seq of 0', { seq: 0, workers: '4' }],
    ['no workers', { seq: 1 }],
    ['workers that is no count', { seq: 1, workers: 'lots' }],
    ['a negative number of workers', { seq: 1, workers: -2 }],
    ['a fraction of a worker', { seq: 1, workers: 2.5 }],
  ])('rejects a scale with %s', (_, data) => {
    expect(typeof fromWorker(envelope('scale', { data }))).toBe('string');
  });

  it('reads messages with the sender stamped as from', () => {
    const forged = messageEnvelope('publish', { topic: 't', from: { node: 'n1', id: 9, slot: 9, pid: 9 }, data: '1' });
    expect(fromWorker(forged)).toMatchObject({ kind: 'publish', topic: 't', from: sender, data: '1' });
    const forever = { ns: CLUSTER_NAMESPACE, v: ENVELOPE_VERSION, kind: 'request', topic: 't', id: 'r', timeoutMs: 'forever' };
    expect(typeof fromWorker(forever)).toBe('string');
  });
});

describe('readFromPrimary', () => {
  it('reads shutdown, handoff and lifecycle', () => {
    expect(fromPrimary(controlEnvelope.shutdown())).toEqual({ kind: 'shutdown', handOff: false });
    expect(fromPrimary(controlEnvelope.shutdown(true))).toEqual({ kind: 'shutdown', handOff: true });
    expect(fromPrimary(controlEnvelope.handoff(4000))).toEqual({ kind: 'handoff', port: 4000 });
    expect(typeof fromPrimary(controlEnvelope.handoff(70_000))).toBe('string');
    expect(fromPrimary(controlEnvelope.lifecycle(lifecycle))).toEqual({ kind: 'lifecycle', data: lifecycle });
    const event = { type: 'fork', node: 'n1', id: 2, slot: 1, pid: 200, at: 3 } as const;
    expect(fromPrimary(controlEnvelope.lifecycle({ ...lifecycle, event }))).toMatchObject({ data: { event } });
  });

  it('reads the slot a standby takes, and rejects what is no slot', () => {
    expect(fromPrimary(controlEnvelope.promote(3))).toEqual({ kind: 'promote', slot: 3 });
    for (const data of [-1, 1.5, '2', undefined]) expect(fromPrimary(envelope('promote', { data }))).toEqual(expect.stringContaining('promote'));
  });

  it('reads the bytes a sticky handoff carries, none included, and rejects what is not base64 or too long', () => {
    const head = Buffer.from('GET /socket.io/?EIO=4&transport=polling&sid=2.abc HTTP/1.1\r\n');
    expect(fromPrimary(controlEnvelope.handoff(3000, head))).toEqual({ kind: 'handoff', port: 3000, head });
    expect(fromPrimary(controlEnvelope.handoff(3000, Buffer.alloc(0)))).toEqual({ kind: 'handoff', port: 3000, head: Buffer.alloc(0) });
    expect(typeof fromPrimary(envelope('handoff', { data: { port: 3000, head: 'not base64!' } }))).toBe('string');
    expect(typeof fromPrimary(envelope('handoff', { data: { port: 3000, head: 42 } }))).toBe('string');
    const tooLong = Buffer.alloc(MAX_HANDOFF_HEAD_BYTES + 3).toString('base64');
    expect(typeof fromPrimary(envelope('handoff', { data: { port: 3000, head: tooLong } }))).toBe('string');
  });

  it('reads the id a handoff asks an answer for, with or without bytes, and rejects one that is no id', () => {
    expect(fromPrimary(controlEnvelope.handoff(3000, undefined, 5))).toEqual({ kind: 'handoff', port: 3000, id: 5 });
    const head = Buffer.from('GET / HTTP/1.1\r\n');
    expect(fromPrimary(controlEnvelope.handoff(3000, head, 6))).toEqual({ kind: 'handoff', port: 3000, head, id: 6 });
    expect(typeof fromPrimary(envelope('handoff', { data: { port: 3000, id: 0 } }))).toBe('string');
    expect(typeof fromPrimary(envelope('handoff', { data: { port: 3000, id: '5' } }))).toBe('string');
  });

  it('reads the answer to a listen: an address, or an error code', () => {
    const where = { seq: 2, port: 3000, address: '::', family: 'IPv6' };
    expect(fromPrimary(controlEnvelope.listening(where))).toEqual({ kind: 'listening', reply: where });
    expect(fromPrimary(controlEnvelope.listening({ seq: 3, error: 'EADDRINUSE' }))).toEqual({
      kind: 'listening',
      reply: { seq: 3, error: 'EADDRINUSE' },
    });
    expect(typeof fromPrimary(envelope('listening', { data: { seq: 3, port: 0, address: '::', family: 'IPv6' } }))).toBe('string');
    expect(typeof fromPrimary(envelope('listening', { data: { port: 3000, address: '::', family: 'IPv6' } }))).toBe('string');
  });

  it('reads the answer to a scale: the counts, what would have been allowed, or why it is unavailable', () => {
    const done = { seq: 1, result: { from: 2, to: 4 } };
    expect(fromPrimary(controlEnvelope.scaled(done))).toEqual({ kind: 'scaled', reply: done });
    const refused = { seq: 2, allowed: 'a worker count from 1 to 4096' };
    expect(fromPrimary(controlEnvelope.scaled(refused))).toEqual({ kind: 'scaled', reply: refused });
    const stopping = { seq: 3, unavailable: 'the cluster is shutting down' };
    expect(fromPrimary(controlEnvelope.scaled(stopping))).toEqual({ kind: 'scaled', reply: stopping });
    expect(typeof fromPrimary(envelope('scaled', { data: { result: { from: 2, to: 4 } } }))).toBe('string');
    expect(typeof fromPrimary(envelope('scaled', { data: { seq: 1, result: { from: 2, to: -1 } } }))).toBe('string');
    expect(typeof fromPrimary(envelope('scaled', { data: { seq: 1 } }))).toBe('string');
  });

  it('reads messages as relayed, with the from they carry', () => {
    const from = { node: 'n1', id: 2, slot: 1, pid: 200 };
    const message = messageEnvelope('send', { topic: 't', from, to: { node: 'n1', slot: 0 }, data: '1' });
    expect(fromPrimary(message)).toBe(message);
    expect(typeof fromPrimary(messageEnvelope('send', { topic: 't', from: undefined as never, to: { node: 'n1', slot: 0 } }))).toBe('string');
  });

  it.each<[string, unknown]>([
    ['no data', undefined],
    ['data that is not an object', 5],
    ['workers that is not a list', { ...lifecycle, workers: {} }],
    ['a worker without a state', { ...lifecycle, workers: [{ node: 'n1', id: 1, slot: 0, pid: 1 }] }],
    ['a worker without an identity', { ...lifecycle, workers: [{ state: 'ready' }] }],
    ['no state', { workers: [] }],
    ['a state without expectedWorkers', { ...lifecycle, state: { crashLoop: false } }],
    ['an event without a type', { ...lifecycle, event: { at: 1 } }],
    ['an event that is a string', { ...lifecycle, event: 'fork' }],
  ])('rejects a lifecycle with %s', (_, data) => {
    expect(typeof fromPrimary(envelope('lifecycle', { data }))).toBe('string');
  });

  it.each(['hello', 'credit', 'handlers', 'batch'])('rejects kind %p, which the primary does not send', (kind) => {
    expect(typeof fromPrimary(envelope(kind, { data: [] }))).toBe('string');
  });
});
