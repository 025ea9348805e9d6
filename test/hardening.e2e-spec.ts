/**
 * No worker can take the cluster down: envelopes written by hand on a worker's IPC channel (a bug, or
 * a dependency writing with the library's namespace), forged replies, floods of requests, oversized
 * messages, a slow subscriber and a hung worker, each from a real worker of a real cluster.
 */
import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { ENVELOPE_VERSION } from '../src/cluster.constants.js';
import { get, isAlive, until, type ClusterProcess, type ObservedEvent } from './helpers/cluster-process.js';
import { pollUntil, q, startMessagingCluster, type Control } from './helpers/messaging-cluster.js';

// Each case boots real clusters, on a machine that may be busy: slow, but never stuck.
jest.setTimeout(120_000);

const ENVELOPE = { ns: 'nestjs-cluster', v: ENVELOPE_VERSION };

/** What the issue found killing the primary or a worker, and other envelopes no worker may send. */
const MALFORMED: ReadonlyArray<Record<string, unknown>> = [
  { kind: 'handlers', data: 5 },
  { kind: 'handlers', data: { a: 1 } },
  { kind: 'batch', data: 5 },
  { kind: 'batch', data: { a: 1 } },
  { kind: 'batch', data: [null] },
  { kind: 'batch', data: [{ ...ENVELOPE, kind: 'batch', data: [] }] },
  { kind: 'request', topic: 'nobody.handles.this', id: 'x1' },
  { kind: 'request', topic: 'whoami', id: 'x2', to: 999, timeoutMs: 'forever' },
  { kind: 'publish', topic: 'note', data: { not: 'encoded' } },
  { kind: 'publish', topic: '' },
  { kind: 'send', topic: 'note', to: -1, data: '1' },
  { kind: 'reply', topic: 'x', id: 7, data: '1' },
  { kind: 'reply', topic: 'x', id: 'r', error: 'boom' },
  { kind: 'lifecycle', data: null },
  { kind: 'shutdown' },
  { kind: 'credit', data: 'lots' },
  { kind: 'made-up' },
  { v: ENVELOPE_VERSION - 1, kind: 'publish', topic: 'note', data: '1' },
  { kind: 'send', topic: 'note', to: 2, data: '1' }, // a bare slot: envelopes address { node, slot }
];

/**
 * Envelopes that are well formed once the primary stamps `from` itself (they lack it, or claim
 * another worker): before, they killed the primary or every subscriber.
 */
const withoutFrom = (node: string): ReadonlyArray<Record<string, unknown>> => [
  { kind: 'request', topic: 'nobody.handles.this', id: 'y1', timeoutMs: 1000 },
  { kind: 'request', topic: 'whoami', id: 'y2', to: { node, slot: 999 }, timeoutMs: 1000 },
  { kind: 'request', topic: 'whoami', id: 'y4', to: { node: 'another-node', slot: 0 }, timeoutMs: 1000 },
  { kind: 'request', topic: 'echo', id: 'y3', timeoutMs: 1000 },
  { kind: 'publish', topic: 'note', data: '{not json' },
];

/** Events as one worker saw them (every worker prints every event). */
const seenBy = (app: ClusterProcess, observer: number) =>
  app
    .events()
    .filter((e) => e.observer === observer)
    .map((e) => e.event);

const dropsOf = (app: ClusterProcess, reason: string, slot: number) =>
  seenBy(app, 1).filter((e) => e.type === 'messages-dropped' && e.reason === reason && e.slot === slot);

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number.parseInt(line.slice(6), 10) / 1024;
}

/** The cluster still does its job: every original worker serves HTTP and messages. */
async function expectIntact(app: ClusterProcess, control: Control, port: number, workers: number, pids: number[]) {
  expect(pids.every(isAlive)).toBe(true);
  expect(seenBy(app, 0).filter((e) => e.type === 'exit')).toEqual([]);
  for (let i = 0; i < workers * 2; i++) expect((await get(port, '/')).status).toBe(200);
  for (let slot = 0; slot < workers; slot++) {
    const { value } = await control((slot + 1) % workers, `/request?topic=whoami&to=${slot}`);
    expect(value).toEqual({ slot, pid: pids[slot] });
  }
  const marker = `intact-${Date.now()}`;
  await control(1, `/publish?topic=note&data=${q(marker)}`);
  await pollUntil(async () => (await control(0, '/received')).notes.some((n: { data: unknown }) => n.data === marker), 'a publish after the attack');
}

async function pidsOf(control: Control, workers: number): Promise<number[]> {
  return Promise.all(Array.from({ length: workers }, async (_, slot) => (await control(slot, '/request?topic=whoami&to=' + slot)).value.pid));
}

describe.each(['json', 'advanced'])("a worker writing bad envelopes ('%s' serialization)", (serialization) => {
  let app: ClusterProcess;
  let control: Control;
  let port: number;
  let pids: number[];

  beforeAll(async () => {
    ({ app, control, port } = await startMessagingCluster(3, { CLUSTER_SERIALIZATION: serialization, FIXTURE_PRINT_EVENTS: '1' }));
    pids = await pidsOf(control, 3);
  });

  afterAll(() => app?.killGroup());

  it('drops each malformed one with a warning and an event naming the worker; nothing dies', async () => {
    const before: number = (await control(1, '/state')).dropped.malformed;
    const reportsBefore = dropsOf(app, 'malformed', 0).length;
    for (const bad of MALFORMED) await control(0, `/raw?data=${q({ ...ENVELOPE, ...bad })}`);
    await pollUntil(async () => (await control(1, '/state')).dropped.malformed === before + MALFORMED.length, 'every drop counted');
    // The first drop is reported at once (or, right after an earlier report, once the throttle allows).
    const [first] = await app.waitForEvents(
      (events) => {
        const reports = events.filter((e) => e.observer === 1).map((e) => e.event);
        const ours = reports.filter((e) => e.type === 'messages-dropped' && e.reason === 'malformed' && e.slot === 0).slice(reportsBefore);
        return ours.length > 0 ? ours : undefined;
      },
      'a drop report',
      15_000,
    );
    expect(first).toMatchObject({ slot: 0, pid: pids[0], reason: 'malformed' });
    expect(first!.detail).toMatch(/handlers/);
    await expectIntact(app, control, port, 3, pids);
  });

  it('routes envelopes that lack or forge `from` as coming from their real sender', async () => {
    const { node } = await control(0, '/self');
    const seenBefore: number = (await control(2, '/received')).notes.length;
    for (const envelope of withoutFrom(node)) await control(0, `/raw?data=${q({ ...ENVELOPE, ...envelope })}`);
    // `encode` serializes `data` the way this cluster does, so the envelope is valid but for `from`.
    const claims = {
      ...ENVELOPE,
      kind: 'send',
      topic: 'note',
      to: { node, slot: 2 },
      from: { node, id: 99, slot: 7, pid: 1 },
      data: 'claims slot 7',
    };
    await control(0, `/raw?encode=1&data=${q(claims)}`);
    await pollUntil(
      async () => (await control(2, '/received')).notes.some((n: { data: unknown }) => n.data === 'claims slot 7'),
      'the send that claimed another sender',
    );
    const notes: Array<{ data: unknown; from: number }> = (await control(2, '/received')).notes.slice(seenBefore);
    expect(notes.find((n) => n.data === 'claims slot 7')).toEqual({ data: 'claims slot 7', from: 0 });
    // The undecodable publish reached no subscriber and killed none.
    expect(notes.filter((n) => n.from === 0 && n.data !== 'claims slot 7')).toEqual([]);
    await expectIntact(app, control, port, 3, pids);
  });

  it('ignores a reply from a worker the request was not sent to, and delivers the real one', async () => {
    const slowBefore = app.lines.filter((l) => l === `SLOW_REQUEST 1 ${pids[1]}`).length;
    const pending = control(0, `/request?topic=slow&to=1&timeoutMs=10000&data=${q({ ms: 1_500 })}`);
    await app.waitForLines(new RegExp(`^SLOW_REQUEST 1 ${pids[1]}$`), slowBefore + 1);
    // Slot 2 answers every request id the primary can have handed out so far.
    await control(2, '/forge-replies?topic=slow&first=1&last=5000');
    const { value, error } = await pending;
    expect(error).toBeUndefined();
    expect(value).toEqual({ slot: 1 });
    await app.waitForEvents(
      (events) => events.find((e) => e.observer === 1 && e.event.type === 'messages-dropped' && e.event.reason === 'unexpected-reply'),
      'the forged reply reported',
    );
    expect(dropsOf(app, 'unexpected-reply', 2)[0]).toMatchObject({ slot: 2, pid: pids[2] });
  });
});

describe('bounds', () => {
  let app: ClusterProcess;
  afterEach(() => app?.killGroup());

  it('keeps no request with a bad timeout, holds at most maxPendingRequests per worker, and fails the next at once', async () => {
    let control: Control;
    ({ app, control } = await startMessagingCluster(2, { FIXTURE_HANG_SLOT: '1', CLUSTER_MAX_PENDING_REQUESTS: '1000' }));
    // 100,000 requests that would never time out: none may stay in the primary's table.
    for (let i = 0; i < 10; i++) await control(0, `/raw-requests?topic=slot-unless-hung&to=1&count=10000&data=${q('forever')}`);
    await pollUntil(async () => (await control(1, '/state')).dropped.malformed === 100_000, 'the bad requests counted');
    // Had they stayed, slot 0 would be over its limit of 1000 now.
    const ok = await control(0, '/request?topic=whoami&to=0');
    expect(ok.value.slot).toBe(0);

    // Valid ones to a handler that never answers: the primary keeps 1000 of slot 0's and refuses the rest.
    await control(0, `/raw-requests?topic=slot-unless-hung&to=1&count=5000&data=${q(1e12)}`);
    await pollUntil(async () => (await control(0, '/request?topic=whoami&to=0')).error?.code === 'CLUSTER_ERR_REQUEST_LIMIT', 'the limit');
    const refused = await control(0, '/request?topic=whoami&to=1&timeoutMs=30000');
    expect(refused.error).toMatchObject({ name: 'RequestLimitError', code: 'CLUSTER_ERR_REQUEST_LIMIT' });
    expect(refused.ms).toBeLessThan(10_000); // refused, not timed out
    // The bound is per worker: slot 1 still asks and gets answers.
    expect((await control(1, '/request?topic=whoami&to=0')).value.slot).toBe(0);

    // The requester's own side refuses the request past the bound without sending it.
    const many: Array<{ error?: { code: string } }> = await control(1, `/request-many?topic=slot-unless-hung&to=1&count=1001&timeoutMs=2000`);
    expect(many.filter((r) => r.error?.code === 'CLUSTER_ERR_REQUEST_LIMIT')).toHaveLength(1);
    expect(many.filter((r) => r.error?.code === 'CLUSTER_ERR_REQUEST_TIMEOUT')).toHaveLength(1000);
  });

  it('fails a message over maxMessageBytes at the call, and drops an oversized envelope written by hand', async () => {
    let control: Control;
    ({ app, control } = await startMessagingCluster(2, { CLUSTER_MAX_MESSAGE_BYTES: '100000', FIXTURE_PRINT_EVENTS: '1' }));
    const { error } = await control(0, '/big?bytes=150000');
    expect(error).toMatchObject({ name: 'MessageTooLargeError', code: 'CLUSTER_ERR_MESSAGE_TOO_LARGE', bytes: 150_002, limit: 100_000 });
    expect(error.message).toMatch(/150002 bytes.*100000/);
    expect((await control(0, '/big?bytes=90000')).sent).toBe(true);

    await control(0, '/raw-big?bytes=5000000');
    await app.waitForEvents((events) => events.find((e) => e.event.type === 'messages-dropped' && e.event.slot === 0), 'the drop');
    await control(0, `/publish?topic=note&data=${q('after-big')}`);
    await pollUntil(async () => (await control(1, '/received')).notes.some((n: { data: unknown }) => n.data === 'after-big'), 'the marker');
    const lengths = (await control(1, '/received')).notes.map((n: { data: string }) => n.data.length);
    expect(lengths).toEqual([90_000, 'after-big'.length]);
  });

  it('a slow subscriber: the primary stays bounded, the sender sees the pressure, the drain is on time', async () => {
    // Far above a drain on a busy machine: a worker killed at the deadline would make the exit code 1.
    const SHUTDOWN_TIMEOUT_MS = 15_000;
    let control: Control;
    ({ app, control } = await startMessagingCluster(2, {
      FIXTURE_PRINT_EVENTS: '1',
      FIXTURE_SLOW_SUBSCRIBER_MS: '2',
      FIXTURE_SLOW_SLOT: '1',
      CLUSTER_MAX_QUEUE_BYTES: '2000000',
      CLUSTER_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    }));
    const rssBefore = rssMb(app.pid);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(app.pid))), 50);
    try {
      // 300,000 messages of 1 KB to a worker that takes 2 ms for each: about 300 MB it cannot keep up with.
      for (let i = 0; i < 6; i++) await control(0, '/flood?count=50000&size=1000');
      await app.waitForEvents(
        (events) => events.find((e) => e.observer === 0 && e.event.type === 'messages-dropped' && e.event.reason === 'queue-full'),
        'the queue-full report',
      );
      await pollUntil(
        async () => (await control(0, '/workers')).some((w: { slot: number; congested: boolean }) => w.slot === 1 && w.congested),
        'slot 1 congested',
      );
      expect(await control(0, '/flood?count=10&size=10')).toEqual({ sent: 10, flagged: 10 });
    } finally {
      clearInterval(sampler);
    }
    expect(peak - rssBefore).toBeLessThan(120);
    const drop = seenBy(app, 0).find((e) => e.type === 'messages-dropped' && e.reason === 'queue-full')!;
    expect(drop).toMatchObject({ slot: 1, reason: 'queue-full' });
    expect((await control(0, '/state')).dropped['queue-full']).toBeGreaterThan(0);

    // Exit 0: every worker drained within the deadline (the one behind a full queue too); none was killed.
    const signalledAt = Date.now();
    app.signal('SIGTERM');
    const exit = await app.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
  });
});

describe('a hung worker', () => {
  /** Far above any pause of a healthy worker on a busy machine; the worker under test stops for good. */
  const UNRESPONSIVE_MS = 8_000;
  let app: ClusterProcess;
  afterEach(() => app?.killGroup());

  it('is taken out of the routing, replaced and killed once silent for unresponsiveMs', async () => {
    let control: Control;
    ({ app, control } = await startMessagingCluster(2, { FIXTURE_PRINT_EVENTS: '1', CLUSTER_UNRESPONSIVE_MS: String(UNRESPONSIVE_MS) }));
    const [, hung] = await pidsOf(control, 2);
    process.kill(hung!, 'SIGSTOP');

    const seen = await app.waitForEvents(
      (events) => events.find((e) => e.observer === 0 && e.event.type === 'unresponsive'),
      'the unresponsive event',
      UNRESPONSIVE_MS + 30_000,
    );
    expect(seen.event).toMatchObject({ slot: 1, pid: hung });
    expect(seen.event.silentMs).toBeGreaterThanOrEqual(UNRESPONSIVE_MS);
    // Out of the routing at once: a request to its slot fails now instead of timing out after 30 s
    // (or, if the replacement is ready already, the replacement answers).
    const asked = await control(0, '/request?topic=whoami&to=1&timeoutMs=30000');
    if (asked.error) expect(asked.error.code).toBe('CLUSTER_ERR_WORKER_UNAVAILABLE');
    else expect(asked.value.pid).not.toBe(hung);
    expect(asked.ms).toBeLessThan(10_000);

    const exit = await app.waitForEvents(
      (events) => events.find((e: ObservedEvent) => e.observer === 0 && e.event.type === 'exit' && e.event.pid === hung),
      'the hung worker killed',
      60_000,
    );
    expect(exit.event).toMatchObject({ signal: 'SIGKILL', expected: false, reason: 'unresponsive' });
    await until(() => !isAlive(hung!), 'the hung pid to be gone', 10_000);
    const { value } = await control(0, '/request?topic=whoami&to=1');
    expect(value.slot).toBe(1);
    expect(value.pid).not.toBe(hung);
  });

  it('leaves alone a worker whose event loop is busy for less than unresponsiveMs', async () => {
    let control: Control;
    ({ app, control } = await startMessagingCluster(2, { FIXTURE_PRINT_EVENTS: '1', CLUSTER_UNRESPONSIVE_MS: String(UNRESPONSIVE_MS) }));
    const pids = await pidsOf(control, 2);
    // Busy for half the limit (and a few seconds short of it, so that a healthy worker on a busy
    // machine never gets near it).
    const busyMs = UNRESPONSIVE_MS / 2;
    const started = Date.now();
    expect(await control(1, `/busy?ms=${busyMs}`)).toEqual({ busyMs });
    // An absence has no event to wait for: watch past the point where the limit would have tripped had
    // the worker stayed silent after the busy time (its heartbeats not resumed), with the primary's
    // once-a-second check run a few more times.
    await pollUntil(async () => Date.now() - started > UNRESPONSIVE_MS + 3_000, 'the watch window', 60_000);
    expect(seenBy(app, 0).filter((e) => e.type === 'unresponsive' || e.type === 'exit')).toEqual([]);
    expect(await pidsOf(control, 2)).toEqual(pids);
  });
});

describe('fuzz', () => {
  it('survives thousands of random envelopes from a worker', async () => {
    const { app, control, port } = await startMessagingCluster(3, { FIXTURE_PRINT_EVENTS: '1' });
    try {
      const pids = await pidsOf(control, 3);
      const seed = Date.now() % 1_000_000;
      for (let i = 0; i < 3; i++) {
        const { sent } = await control(0, `/fuzz?count=1000&seed=${seed + i}`);
        expect(sent).toBe(1000);
      }
      await app.waitForEvents((events) => events.find((e) => e.event.type === 'messages-dropped'), `drops (seed ${seed})`);
      await expectIntact(app, control, port, 3, pids);
      expect(isAlive(app.pid)).toBe(true);
    } finally {
      app.killGroup();
    }
  });
});
