import { jest } from '@jest/globals';
import { Agent } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { ClusterProcess, freePort, get, isAlive, type HttpAnswer, type ObservedEvent } from './helpers/cluster-process.js';
import { failures, startLoad } from './helpers/load.js';

// Each case boots real clusters, on a machine that may be busy: slow, but never stuck.
jest.setTimeout(120_000);

/** GET through a given agent (to reuse one keep-alive connection). */
function getVia(agent: Agent, port: number, path: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Limits a healthy worker must never reach, whatever the load on the machine (each test that needs a
 * worker to reach one makes that worker hang for good): a Nest boot takes 1 to 4 s on a busy 2-core
 * machine.
 */
const READY_TIMEOUT_MS = 15_000;
const UNRESPONSIVE_MS = 8_000;

async function startCluster(env: Record<string, string> = {}) {
  const port = await freePort();
  const app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: '2', ...env });
  // A cluster that never got ready must not outlive the case: nothing else holds it to kill it.
  const ready = await app.waitForReady(2).catch((error: unknown) => {
    app.killGroup();
    throw error;
  });
  return { app, port, pids: ready.map((w) => w.pid) };
}

/** The rolling restart for `reason` is done (or aborted), as the workers saw it. */
const rollingRestart = (app: ClusterProcess, phase: 'done' | 'aborted', reason: RegExp, timeoutMs = 60_000) =>
  app.waitForEvent(
    (e) => e.type === 'rolling-restart' && e.phase === phase && reason.test(String(e.reason)),
    `the rolling restart (${reason}) ${phase}`,
    timeoutMs,
  );

/** Pids of the workers that were ready at some point, from their `ready` events. */
const readyPids = (app: ClusterProcess) => [
  ...new Set(
    app
      .events()
      .filter((e) => e.event.type === 'ready')
      .map((e) => e.event.pid!),
  ),
];

describe('under keep-alive load', () => {
  let app: ClusterProcess;
  afterEach(() => app?.killGroup());

  it('a rolling restart of 2 workers fails no request', async () => {
    let port: number;
    let before: number[];
    ({ app, port, pids: before } = await startCluster());
    const load = startLoad(port, { connections: 20 });
    await load.running;

    app.signal('SIGHUP');
    await rollingRestart(app, 'done', /^SIGHUP$/);
    const result = await load.stop();

    expect(result.errors).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(result.requests.total).toBeGreaterThan(200);
    expect(before.some(isAlive)).toBe(false); // both replaced
    const after = readyPids(app).filter((pid) => !before.includes(pid));
    expect(after).toHaveLength(2);
    const replaced = app.events().filter((e) => e.event.type === 'exit' && before.includes(e.event.pid!));
    expect(replaced.every((e) => e.event.reason === 'replaced' && e.event.expected === true)).toBe(true);
    expect(app.output()).toMatch(/SHUTDOWN_HOOK/); // the old workers ran Nest's shutdown hooks
  });

  it('SIGKILL of one worker fails only its in-flight requests, and the replacement restores service', async () => {
    let port: number;
    ({ app, port } = await startCluster());
    const connections = 10;
    const load = startLoad(port, { connections });
    await load.running;

    const victim = (await get(port, '/workers')).body.workers.find((w: { slot: number }) => w.slot === 0);
    process.kill(victim.pid, 'SIGKILL');
    await app.waitForEvent((e) => e.type === 'ready' && e.slot === 0 && e.pid !== victim.pid, 'slot 0 ready again');
    const during = await load.stop();
    // Each keep-alive connection carries one request at a time: at most one failure per connection.
    expect(failures(during)).toBeLessThanOrEqual(connections);

    const after = startLoad(port, { connections });
    await after.running;
    const slots = new Set<number>();
    for (let i = 0; i < 10; i++) slots.add((await get(port, '/')).body.slot);
    const whole = await after.stop();
    expect(failures(whole)).toBe(0);
    expect([...slots].sort()).toEqual([0, 1]);
  });

  it('a replacement that never becomes ready aborts the rolling restart, and the old workers keep serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nestjs-cluster-'));
    const hangFile = join(dir, 'hang');
    let port: number;
    try {
      let before: number[];
      // The limit applies to every worker, the first ones too: far above a boot on a busy machine. Only
      // the replacement, which never gets ready, reaches it.
      ({ app, port, pids: before } = await startCluster({ FIXTURE_HANG_BOOT_FILE: hangFile, CLUSTER_READY_TIMEOUT_MS: String(READY_TIMEOUT_MS) }));
      writeFileSync(hangFile, ''); // from now on a booting worker hangs
      const load = startLoad(port, { connections: 20, maxSeconds: 120 });
      await load.running;

      app.signal('SIGHUP');
      const aborted = await rollingRestart(app, 'aborted', new RegExp(`not ready within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS + 30_000);
      const result = await load.stop();

      expect(failures(result)).toBe(0);
      expect(before.every(isAlive)).toBe(true);
      const served = new Set<number>();
      for (let i = 0; i < 10; i++) served.add((await get(port, '/')).body.pid);
      expect([...served].sort()).toEqual([...before].sort());
      expect(aborted).toMatchObject({ slot: 0, reason: expect.stringMatching(new RegExp(`not ready within ${READY_TIMEOUT_MS} ms`)) });
      // The replacement, which hung, was killed for it.
      const started = app.events().find((e) => e.event.type === 'rolling-restart' && e.event.phase === 'start')!.event;
      const hungPid = (await app.waitForEvent((e) => e.type === 'fork' && Number(e.at) >= Number(started.at), 'the replacement forked')).pid!;
      // Its boot output, held while it booted, shows once it failed.
      await app.waitForLine(new RegExp(`^BOOT_HANGS ${hungPid}$`));
      const exit = await app.waitForEvent((e) => e.type === 'exit' && e.pid === hungPid, 'the hung replacement to exit');
      expect(exit).toMatchObject({ slot: 0, signal: 'SIGKILL', expected: false, reason: 'ready-timeout' });
      expect(isAlive(hungPid)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('the memory guard replaces a worker above the limit without failing a request', async () => {
    let port: number;
    let pids: number[];
    ({ app, port, pids } = await startCluster({
      FIXTURE_OPTIONS: JSON.stringify({ restart: { maxMemoryMb: 250, memoryCheckIntervalMs: 200 } }),
    }));
    const load = startLoad(port, { connections: 10 });
    await load.running;

    // Filling 300 MB takes seconds on a busy machine (over 1 s on an idle one here).
    const grown = await get(port, '/grow?mb=300', 60_000);
    expect(grown.body.rssMb).toBeGreaterThan(250);
    const slot = pids.indexOf(grown.body.pid);
    await rollingRestart(app, 'done', new RegExp(`^memory of worker ${slot}$`));
    const result = await load.stop();

    expect(failures(result)).toBe(0);
    const exit = await app.waitForEvent((e) => e.type === 'exit' && e.pid === grown.body.pid, 'the grown worker to exit');
    expect(exit).toMatchObject({ slot, expected: true, reason: 'replaced' });
    expect(isAlive(grown.body.pid)).toBe(false);
  });

  it('SIGHUP during a one-worker memory restart still replaces every worker', async () => {
    let port: number;
    let before: number[];
    ({
      app,
      port,
      pids: before,
    } = await startCluster({
      FIXTURE_OPTIONS: JSON.stringify({ restart: { maxMemoryMb: 250, memoryCheckIntervalMs: 200 } }),
    }));
    const load = startLoad(port, { connections: 10 });
    await load.running;

    await get(port, '/grow?mb=300', 60_000); // seconds on a busy machine
    await app.waitForEvent(
      (e) => e.type === 'rolling-restart' && e.phase === 'start' && /^memory of worker \d$/.test(String(e.reason)),
      'the memory restart to start',
    );
    app.signal('SIGHUP'); // while the grown worker's replacement boots
    const isDone = (reason: RegExp) => (e: ObservedEvent) =>
      e.event.type === 'rolling-restart' && e.event.phase === 'done' && reason.test(String(e.event.reason));
    await app.waitForEvents((events) => events.find(isDone(/^SIGHUP$/)), 'the SIGHUP rolling restart to finish', 60_000);
    const result = await load.stop();

    expect(failures(result)).toBe(0);
    expect(app.events().some(isDone(/^memory of worker \d$/))).toBe(true);
    expect(before.some(isAlive)).toBe(false);
    const serving = (await get(port, '/workers')).body.workers.map((w: { pid: number }) => w.pid);
    expect(serving).toHaveLength(2);
    expect(serving.some((pid: number) => before.includes(pid))).toBe(false);
  });

  it('SIGTERM with 20 in-flight 2 s requests answers all 20 with 200, then exits 0', async () => {
    let port: number;
    ({ app, port } = await startCluster());
    const agent = new Agent({ keepAlive: true, maxSockets: 20 });
    const inFlight = Array.from({ length: 20 }, () => getVia(agent, port, '/slow?ms=2000'));
    await app.waitForLines(/SLOW_START/, 20);
    app.signal('SIGTERM');

    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(answers.map((a) => a.body.waitedMs)).toEqual(Array(20).fill(2000));
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.output()).toMatch(/SHUTDOWN_HOOK/);
    agent.destroy();
  });
});

describe('health endpoints', () => {
  let app: ClusterProcess;
  let port: number;
  afterEach(() => app?.killGroup());

  it('/health reports alive and expected workers', async () => {
    ({ app, port } = await startCluster());
    const { status, body } = await get(port, '/health');
    expect(status).toBe(200);
    expect(body.details.cluster).toMatchObject({ status: 'up', alive: 2, expected: 2, restarts: 0 });
  });

  it('/health/workers reports a hung worker as down within its timeout', async () => {
    ({ app, port } = await startCluster());
    // One keep-alive connection pins the requests below to one worker; it makes the other one hang.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const healthy = await getVia(agent, port, '/health/workers');
    expect(healthy.status).toBe(200);
    // It is told to hang before it is asked (one sender, one receiver: in order), for longer than the check waits.
    const { body } = await getVia(agent, port, '/hang-other?ms=8000');

    const started = Date.now();
    const check = await getVia(agent, port, '/health/workers');
    // The check's own timeout is 1 s: it did not wait for the hung worker, which answers 8 s late.
    expect(Date.now() - started).toBeLessThan(1_000 + 4_000);
    expect(check.status).toBe(503);
    expect(check.body.details.workers).toMatchObject({ status: 'down', missing: [body.hung] });
    agent.destroy();
  });

  it('/health shows a worker stuck in an endless loop as unresponsive until its replacement is ready', async () => {
    ({ app, port } = await startCluster({ CLUSTER_UNRESPONSIVE_MS: String(UNRESPONSIVE_MS) }));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const { body } = await getVia(agent, port, '/hang-other?ms=120000');
    const killed = app.waitForEvent(
      (e) => e.type === 'exit' && e.slot === body.hung && e.reason === 'unresponsive',
      'the hung worker killed',
      UNRESPONSIVE_MS + 60_000,
    );
    killed.catch(() => undefined); // awaited below, once the probe has been asked
    const found = await app.waitForEvent((e) => e.type === 'unresponsive' && e.slot === body.hung, 'the hung worker found', UNRESPONSIVE_MS + 30_000);
    expect(found.silentMs).toBeGreaterThanOrEqual(UNRESPONSIVE_MS);
    // Until its replacement is ready the primary lets it be: asked meanwhile, the probe sees the slot down.
    const health = async (until: (answer: HttpAnswer) => boolean) => {
      let answer = await getVia(agent, port, '/health');
      for (const started = Date.now(); !until(answer) && Date.now() - started < 30_000;) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        answer = await getVia(agent, port, '/health');
      }
      return answer;
    };
    const during = await health((answer) => answer.status === 503);
    expect(during.body.details.cluster).toMatchObject({ status: 'down', alive: 1, expected: 2, unresponsive: [body.hung] });
    expect(await killed).toMatchObject({ signal: 'SIGKILL', expected: false });
    const after = await health((answer) => answer.body.details.cluster.unresponsive.length === 0);
    expect(after.status).toBe(200);
    expect(after.body.details.cluster).toMatchObject({ status: 'up', alive: 2, unresponsive: [] });
    agent.destroy();
  });

  it('/health/ready turns 503 once the worker drains', async () => {
    ({ app, port } = await startCluster());
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await getVia(agent, port, '/health/ready');
    expect(before.status).toBe(200);

    app.signal('SIGTERM');
    // The keep-alive connection is still open during the drain, and reused within the drain's grace
    // for idle connections: its next request is answered, 503 once the worker drains (asked again as
    // soon as answered until then: nothing outside the worker tells when it starts).
    let during = await getVia(agent, port, '/health/ready');
    for (const started = Date.now(); during.status === 200 && Date.now() - started < 30_000;) during = await getVia(agent, port, '/health/ready');
    expect(during.status).toBe(503);
    expect(during.body.details.traffic).toMatchObject({ status: 'down', draining: true });
    expect(during.headers.connection).toBe('close');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    agent.destroy();
  });
});
