import type { ClusterProcess } from './helpers/cluster-process.js';
import { allReady, pollUntil, q, startMessagingCluster, type Control } from './helpers/messaging-cluster.js';

interface Received {
  notes: Array<{ data: unknown; from: number }>;
  sequences: Record<string, number[]>;
}

describe('messages between 3 workers', () => {
  let app: ClusterProcess;
  let control: Control;

  const received = (slot: number): Promise<Received> => control(slot, '/received');
  const notesWith = async (slot: number, data: unknown) =>
    (await received(slot)).notes.filter((n) => JSON.stringify(n.data) === JSON.stringify(data));
  /** Waits until `slot` has received a note with `data` (a marker the test sent after what it checks). */
  const waitForNote = (slot: number, data: unknown) =>
    pollUntil(async () => (await notesWith(slot, data)).length > 0, `slot ${slot} to receive ${JSON.stringify(data)}`);

  beforeAll(async () => {
    ({ app, control } = await startMessagingCluster(3, { FIXTURE_HANG_SLOT: '2' }));
  });

  // Each test starts from 3 ready workers, whatever an earlier one did to them.
  beforeEach(() => allReady(control, 3));

  afterAll(() => app.killGroup());

  it('publish reaches each other worker exactly once, and the sender only with includeSelf', async () => {
    await control(0, `/publish?topic=note&data=${q('p1')}`);
    await control(0, `/publish?topic=note&data=${q('p1-marker')}&includeSelf=1`);
    for (const slot of [0, 1, 2]) await waitForNote(slot, 'p1-marker');
    // Messages from one sender arrive in order: once the marker is in, any copy of p1 would be too.
    expect(await notesWith(0, 'p1')).toHaveLength(0);
    expect(await notesWith(1, 'p1')).toEqual([{ data: 'p1', from: 0 }]);
    expect(await notesWith(2, 'p1')).toEqual([{ data: 'p1', from: 0 }]);
    expect(await notesWith(0, 'p1-marker')).toEqual([{ data: 'p1-marker', from: 0 }]);
  });

  it('a stacked @OnClusterMessage receives on each of its topics', async () => {
    await control(1, `/publish?topic=note.other&data=${q('other')}`);
    await waitForNote(0, 'other');
    expect(await notesWith(0, 'other')).toEqual([{ data: 'other', from: 1 }]);
  });

  it('send reaches only the addressed slot', async () => {
    await control(1, `/send?to=2&topic=note&data=${q('s1')}`);
    await control(1, `/publish?topic=note&data=${q('s1-marker')}`);
    await waitForNote(0, 's1-marker');
    await waitForNote(2, 's1-marker');
    expect(await notesWith(2, 's1')).toEqual([{ data: 's1', from: 1 }]);
    expect(await notesWith(0, 's1')).toHaveLength(0);
  });

  it('request goes to the addressed slot', async () => {
    for (const to of [0, 1, 2]) {
      const { value } = await control(0, `/request?topic=whoami&to=${to}`);
      expect(value.slot).toBe(to);
    }
  });

  it('request without a slot goes round-robin to the workers that handle the topic', async () => {
    const answers: Array<{ value: { by: number; from: number } }> = await control(1, `/request-many?topic=echo&count=9`);
    const bySlot = [0, 0, 0];
    for (const { value } of answers) bySlot[value.by]! += 1;
    expect(bySlot).toEqual([3, 3, 3]);
    expect(answers.every(({ value }) => value.from === 1)).toBe(true);
  });

  it('requestAll gathers the replies by node and slot and names the worker that did not answer in time', async () => {
    const { node } = await control(0, '/self');
    // Long enough for the healthy workers to answer on a busy machine; the hung one never does.
    const result = await control(0, `/request-all?topic=slot-unless-hung&timeoutMs=3000`);
    expect(result.replies).toEqual([
      { node, slot: 0, data: 0 },
      { node, slot: 1, data: 1 },
    ]);
    expect(result.missing).toEqual([{ node, slot: 2 }]);
    expect(result.errors).toEqual([]);
    expect(result.ms).toBeGreaterThanOrEqual(2_950);
    expect(result.ms).toBeLessThan(3_000 + 5_000);
  });

  it('rejects at once a request to a slot that is down, and one nobody handles', async () => {
    // At once: long before their 30 s timeout, however busy the machine.
    const down = await control(0, `/request?topic=whoami&to=7&timeoutMs=30000`);
    expect(down.error).toMatchObject({ name: 'WorkerUnavailableError', code: 'CLUSTER_ERR_WORKER_UNAVAILABLE' });
    expect(down.ms).toBeLessThan(5_000);

    const unhandled = await control(0, `/request?topic=nobody.handles.this&timeoutMs=30000`);
    expect(unhandled.error).toMatchObject({ name: 'NoHandlerError', code: 'CLUSTER_ERR_NO_HANDLER' });
    expect(unhandled.ms).toBeLessThan(5_000);
  });

  it("hands a throwing handler's message and code to the caller as RemoteHandlerError", async () => {
    const { error } = await control(2, `/request?topic=fail&to=1`);
    expect(error).toMatchObject({
      name: 'RemoteHandlerError',
      code: 'CLUSTER_ERR_REMOTE_HANDLER',
      remoteCode: 'E_FIXTURE',
      remoteMessage: 'fixture handler failed',
    });
  });

  it('throws SerializationError at the call for data it cannot serialize, and sends nothing', async () => {
    const seenBefore = (await received(1)).notes.length;
    const attempts = await control(0, '/unserializable');
    for (const name of ['bigint', 'circular', 'fn', 'request']) {
      expect(attempts[name]).toMatchObject({ name: 'SerializationError', code: 'CLUSTER_ERR_SERIALIZATION' });
    }
    await control(0, `/publish?topic=note&data=${q('u-marker')}`);
    await waitForNote(1, 'u-marker');
    // Since the attempts, slot 1 got from slot 0 only the marker sent after them.
    const notes = (await received(1)).notes
      .slice(seenBefore)
      .filter((n) => n.from === 0)
      .map((n) => n.data);
    expect(notes).toEqual(['u-marker']);
  });

  it('drops replies that arrive after the timeout, and the pending table empties', async () => {
    const timedOut: Array<{ error: { name: string } }> = await control(
      0,
      `/request-many?topic=slow&to=1&count=200&timeoutMs=200&data=${q({ ms: 600 })}`,
    );
    expect(timedOut).toHaveLength(200);
    expect(timedOut.every((r) => r.error.name === 'RequestTimeoutError')).toBe(true);
    // Replies from slot 1 arrive in order: once this longer one is back, the 200 late ones came and went.
    const after = await control(0, `/request?topic=slow&to=1&data=${q({ ms: 800 })}`);
    expect(after.value).toEqual({ slot: 1 });
    expect(await control(0, '/pending')).toEqual({ pending: 0 });
  });

  it('delivers a burst of 10,000 messages from one sender whole and in order', async () => {
    const before = ((await received(0)).sequences['1'] ?? []).length;
    await control(1, '/burst?to=0&count=10000');
    await pollUntil(async () => ((await received(0)).sequences['1'] ?? []).length >= before + 10_000, '10,000 messages');
    const sequence = (await received(0)).sequences['1']!.slice(before);
    expect(sequence).toHaveLength(10_000);
    expect(sequence.every((n, i) => n === i)).toBe(true);
  });

  it("leaves the application's own IPC messages alone", async () => {
    const before = (await control(1, '/foreign-received')).length;
    const n = Date.now();
    await control(1, `/foreign?n=${n}`);
    await pollUntil(async () => (await control(1, '/foreign-received')).length > before, 'the pong');
    expect((await control(1, '/foreign-received')).slice(before)).toEqual([{ app: 'pong', n }]);
  });

  it('rejects a request when its target dies, long before the timeout', async () => {
    const { value: target } = await control(0, '/request?topic=whoami&to=2');
    const pending = control(0, `/request?topic=slow&to=2&timeoutMs=30000&data=${q({ ms: 20_000 })}`);
    await app.waitForLine(new RegExp(`^SLOW_REQUEST 2 ${target.pid}$`));
    process.kill(target.pid, 'SIGKILL');
    const { error, ms } = await pending;
    expect(error).toMatchObject({ name: 'WorkerUnavailableError', code: 'CLUSTER_ERR_WORKER_UNAVAILABLE' });
    expect(error.message).toMatch(new RegExp(`slot 2 \\(pid ${target.pid}\\) exited before replying`));
    expect(ms).toBeLessThan(10_000);
  });
});

describe("'advanced' serialization", () => {
  it('carries Map, Set, Date, BigInt and Buffer between workers', async () => {
    const { app, control } = await startMessagingCluster(2, { CLUSTER_SERIALIZATION: 'advanced' });
    try {
      expect(await control(0, '/advanced-echo?to=1')).toEqual({ map: true, set: true, date: true, big: true, buf: true });
    } finally {
      app.killGroup();
    }
  });
});
