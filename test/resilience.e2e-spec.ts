import { Agent } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { ClusterProcess, freePort, get, isAlive, type HttpAnswer, type ObservedEvent } from './helpers/cluster-process.js';
import { failures, startLoad } from './helpers/load.js';

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

async function startCluster(env: Record<string, string> = {}) {
  const port = await freePort();
  const app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: '2', ...env });
  await app.waitForLine(/cluster ready: 2 worker\(s\)/);
  return { app, port };
}

describe('under keep-alive load', () => {
  let app: ClusterProcess;
  afterEach(() => app?.killGroup());

  it('a rolling restart of 2 workers fails no request', async () => {
    let port: number;
    ({ app, port } = await startCluster());
    const before = app.forkedPids();
    const load = startLoad(port, { connections: 20 });
    await load.running;

    app.signal('SIGHUP');
    await app.waitForLine(/rolling restart \(SIGHUP\) done/);
    const result = await load.stop();

    expect(result.errors).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(result.requests.total).toBeGreaterThan(200);
    expect(before.some(isAlive)).toBe(false); // both replaced
    const after = app.forkedPids().filter((pid) => !before.includes(pid));
    expect(after).toHaveLength(2);
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
    await app.waitForLines(/worker 0 ready in \d+ ms/, 2);
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
      ({ app, port } = await startCluster({ FIXTURE_HANG_BOOT_FILE: hangFile, CLUSTER_READY_TIMEOUT_MS: '1500' }));
      const before = app.forkedPids();
      writeFileSync(hangFile, ''); // from now on a booting worker hangs
      const load = startLoad(port, { connections: 20 });
      await load.running;

      app.signal('SIGHUP');
      await app.waitForLine(/rolling restart aborted at worker 0: replacement not ready within 1500 ms/);
      const result = await load.stop();

      expect(failures(result)).toBe(0);
      expect(before.every(isAlive)).toBe(true);
      const served = new Set<number>();
      for (let i = 0; i < 10; i++) served.add((await get(port, '/')).body.pid);
      expect([...served].sort()).toEqual([...before].sort());
      const aborted = app.events().find((e) => e.event.type === 'rolling-restart' && e.event.phase === 'aborted');
      expect(aborted?.event).toMatchObject({ slot: 0, reason: expect.stringMatching(/not ready within 1500 ms/) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the memory guard replaces a worker above the limit without failing a request', async () => {
    let port: number;
    ({ app, port } = await startCluster({
      FIXTURE_OPTIONS: JSON.stringify({ restart: { maxMemoryMb: 250, memoryCheckIntervalMs: 200 } }),
    }));
    const load = startLoad(port, { connections: 10 });
    await load.running;

    const grown = await get(port, '/grow?mb=300');
    expect(grown.body.rssMb).toBeGreaterThan(250);
    await app.waitForLine(/uses \d+ MB, above restart\.maxMemoryMb \(250\); replacing it/);
    await app.waitForLine(/rolling restart \(memory of worker \d\) done/);
    const result = await load.stop();

    expect(failures(result)).toBe(0);
    expect(isAlive(grown.body.pid)).toBe(false);
  });

  it('SIGHUP during a one-worker memory restart still replaces every worker', async () => {
    let port: number;
    ({ app, port } = await startCluster({
      FIXTURE_OPTIONS: JSON.stringify({ restart: { maxMemoryMb: 250, memoryCheckIntervalMs: 200 } }),
    }));
    const before = app.forkedPids();
    const load = startLoad(port, { connections: 10 });
    await load.running;

    await get(port, '/grow?mb=300');
    await app.waitForLine(/uses \d+ MB, above restart\.maxMemoryMb \(250\); replacing it/);
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
    const { body } = await getVia(agent, port, '/hang-other?ms=4000');

    const started = Date.now();
    const check = await getVia(agent, port, '/health/workers');
    expect(Date.now() - started).toBeLessThan(1_000 + 1_500);
    expect(check.status).toBe(503);
    expect(check.body.details.workers).toMatchObject({ status: 'down', missing: [body.hung] });
    agent.destroy();
  });

  it('/health shows a worker stuck in an endless loop as unresponsive until its replacement is ready', async () => {
    ({ app, port } = await startCluster({ CLUSTER_UNRESPONSIVE_MS: '3000' }));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const { body } = await getVia(agent, port, '/hang-other?ms=60000');
    // No event reaches the test from inside the cluster: poll the endpoint a probe would poll.
    const health = async (until: (answer: HttpAnswer) => boolean) => {
      let answer = await getVia(agent, port, '/health');
      for (const started = Date.now(); !until(answer) && Date.now() - started < 15_000; ) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        answer = await getVia(agent, port, '/health');
      }
      return answer;
    };
    const during = await health((answer) => answer.status === 503);
    expect(during.status).toBe(503);
    expect(during.body.details.cluster).toMatchObject({ status: 'down', alive: 1, expected: 2, unresponsive: [body.hung] });
    await app.waitForLine(new RegExp(`worker ${body.hung} killed by SIGKILL \\(pid \\d+, unresponsive\\)`));
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
    await app.waitForLines(/draining \(asked by the primary\)/, 2);
    // The idle keep-alive connection is still open during the drain: its next request is answered.
    const during = await getVia(agent, port, '/health/ready');
    expect(during.status).toBe(503);
    expect(during.body.details.traffic).toMatchObject({ status: 'down', draining: true });
    expect(during.headers.connection).toBe('close');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    agent.destroy();
  });
});
