/**
 * Every kind of Nest application, clustered on 2 workers and driven by Nest's own clients: a TCP
 * microservice, a NATS microservice, a hybrid app and an application context. Each one gets ready,
 * spreads its work, drains for real (in-flight handlers finish, what outlives the deadline is cut and
 * reported with exit 1) and restarts.
 */
import { jest } from '@jest/globals';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { firstValueFrom, timeout } from 'rxjs';
import { ClusterProcess, freePort, get, isAlive, until } from './helpers/cluster-process.js';
import { failures, startLoad } from './helpers/load.js';

// Each case boots real clusters, some restart them, on a machine that may be busy: slow, but never stuck.
jest.setTimeout(120_000);

const MICROSERVICE_APP = fileURLToPath(new URL('./fixtures/dist/microservice-app.js', import.meta.url));
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

interface Who {
  pid: number;
  slot: number;
}

async function startKind(kind: string, env: Record<string, string> = {}) {
  const port = await freePort();
  const app = ClusterProcess.start({ FIXTURE_KIND: kind, PORT: String(port), CLUSTER_WORKERS: '2', ...env }, MICROSERVICE_APP);
  const ready = await app.waitForReady(2);
  return { app, port, ready };
}

/** The rolling restart asked for by SIGHUP is done, as the workers saw it. */
const rollingRestartDone = (app: ClusterProcess) =>
  app.waitForEvent((e) => e.type === 'rolling-restart' && e.phase === 'done' && e.reason === 'SIGHUP', 'the SIGHUP rolling restart done', 60_000);

const tcpClient = (port: number) => ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
const ask = <T>(client: ClientProxy, pattern: string, data: unknown = {}) => firstValueFrom(client.send<T>(pattern, data));

/** Settles every request, keeping failures as their messages. */
async function settle<T>(requests: Array<Promise<T>>): Promise<Array<T | string>> {
  return (await Promise.allSettled(requests)).map((r) => (r.status === 'fulfilled' ? r.value : String((r.reason as Error)?.message ?? r.reason)));
}

describe('a TCP microservice', () => {
  let app: ClusterProcess;
  let port: number;
  const clients: ClientProxy[] = [];
  const client = () => {
    const created = tcpClient(port);
    clients.push(created);
    return created;
  };

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    app?.killGroup();
  });

  it('is ready once listening, and spreads connections over the workers (one client, one connection, one worker)', async () => {
    ({ app, port } = await startKind('tcp'));
    const answers = await Promise.all(Array.from({ length: 6 }, () => ask<Who>(client(), 'whoami')));
    expect(new Set(answers.map((a) => a.slot))).toEqual(new Set([0, 1]));
    const one = client();
    const again = await Promise.all(Array.from({ length: 5 }, () => ask<Who>(one, 'whoami')));
    expect(new Set(again.map((a) => a.pid)).size).toBe(1);
  });

  it('SIGTERM with 6 requests in flight answers all 6, then exits 0', async () => {
    ({ app, port } = await startKind('tcp'));
    const pending = settle(Array.from({ length: 6 }, () => ask<Who>(client(), 'slow', { ms: 1_500 })));
    await app.waitForLines(/^HANDLER_START slow \d+/, 6);
    app.signal('SIGTERM');
    const answers = await pending;
    expect(answers.map((a) => typeof a === 'object' && a.pid > 0)).toEqual([true, true, true, true, true, true]);
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.lines.filter((l) => /^SHUTDOWN_HOOK \d+/.test(l))).toHaveLength(2);
  });

  it('lets an event handler in flight finish before exiting', async () => {
    ({ app, port } = await startKind('tcp'));
    const emitter = client();
    await ask(emitter, 'whoami'); // connected
    emitter.emit('slow.event', { ms: 1_500 });
    const started = await app.waitForLine(/^HANDLER_START event \d+/);
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    const pid = started.split(' ')[2];
    const done = app.lines.findIndex((l) => l === `HANDLER_DONE event ${pid}`);
    const hook = app.lines.findIndex((l) => l === `SHUTDOWN_HOOK ${pid}`);
    expect(done).toBeGreaterThan(-1);
    expect(hook).toBeGreaterThan(done);
  });

  it('cuts a handler that outlives the drain deadline: the worker and the primary exit 1', async () => {
    // The drain deadline (80% of it) leaves the worker 2 s to close and exit on its own, plenty on a busy machine.
    ({ app, port } = await startKind('tcp', { CLUSTER_SHUTDOWN_TIMEOUT_MS: '10000' }));
    const pending = settle([ask(client(), 'slow', { ms: 30_000 })]);
    await app.waitForLine(/^HANDLER_START slow \d+/);
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(await pending).toEqual(['Connection closed']);
    // No worker is left to see the busy one's exit: the primary's events tell the worker's own exit code
    // (the primary's exit code 1 could also be a SIGKILL).
    expect(app.primaryEvents()).toContainEqual(expect.objectContaining({ type: 'exit', code: 1, signal: null }));
  });

  it('replaces a SIGKILLed worker; a client reconnects on its next send', async () => {
    ({ app, port } = await startKind('tcp'));
    const steady = client();
    const victim = await ask<Who>(steady, 'whoami');
    process.kill(victim.pid, 'SIGKILL');
    await app.waitForEvent((e) => e.type === 'ready' && e.slot === victim.slot && e.pid !== victim.pid, 'the replacement ready');
    await until(() => !isAlive(victim.pid), 'the killed worker to be gone', 5_000);
    // The connection died with the worker: the first send after that reconnects.
    const after = await settle([ask<Who>(steady, 'whoami')]);
    const next = typeof after[0] === 'object' ? after[0] : await ask<Who>(steady, 'whoami');
    expect(next.pid).not.toBe(victim.pid);
    const answers = await Promise.all(Array.from({ length: 6 }, () => ask<Who>(client(), 'whoami')));
    expect(new Set(answers.map((a) => a.slot))).toEqual(new Set([0, 1]));
  });

  it('a rolling restart under steady load from 6 clients fails no request: open connections move to the replacement', async () => {
    let ready: Who[];
    ({ app, port, ready } = await startKind('tcp'));
    const before = ready.map((w) => w.pid);
    const loaders = Array.from({ length: 6 }, () => client());
    let running = true;
    const outcomes = { ok: 0, failed: 0 };
    const loops = loaders.map(async (c) => {
      while (running) {
        try {
          // Bounded (generously: a busy machine is slow, not lossy): a request the cluster lost would
          // otherwise hang this loop for good.
          await firstValueFrom(c.send('whoami', {}).pipe(timeout(20_000)));
          outcomes.ok += 1;
        } catch {
          outcomes.failed += 1;
        }
      }
    });
    try {
      await until(() => outcomes.ok > 100, 'the load to run', 30_000);
      app.signal('SIGHUP');
      await rollingRestartDone(app);
      const okAtRestartEnd = outcomes.ok;
      await until(() => outcomes.ok > okAtRestartEnd + 100, 'the load to go on after the restart', 30_000);
    } finally {
      running = false;
      await Promise.all(loops);
    }
    process.stdout.write(`TCP rolling restart under 6 clients: ${outcomes.failed} failed of ${outcomes.ok + outcomes.failed}\n`);
    expect(before.some(isAlive)).toBe(false);
    // Each open connection was handed to the replacement at a quiet moment: its client never saw it close.
    expect(outcomes.failed).toBe(0);
    const answers = await Promise.all(loaders.map((c) => ask<Who>(c, 'whoami')));
    expect(answers.every((a) => !before.includes(a.pid))).toBe(true);
  });
});

describe('a hybrid app (HTTP + TCP)', () => {
  let app: ClusterProcess;
  let port: number;
  let tcpPort: number;
  afterEach(() => app?.killGroup());

  it('serves both sides, is ready when both are, and drains both on SIGTERM', async () => {
    tcpPort = await freePort();
    ({ app, port } = await startKind('hybrid', { TCP_PORT: String(tcpPort) }));
    expect((await get(port, '/')).status).toBe(200);
    const viaTcp = await get(port, '/via-tcp?ms=0');
    expect(viaTcp.status).toBe(200);
    expect(viaTcp.body.waitedMs).toBe(0);

    const tcp = tcpClient(tcpPort);
    try {
      const http = get(port, '/slow?ms=1500');
      const overTcp = settle([ask<{ waitedMs: number }>(tcp, 'slow', { ms: 1_500 })]);
      await app.waitForLine(/^HANDLER_START http \d+/);
      await app.waitForLine(/^HANDLER_START slow \d+/);
      app.signal('SIGTERM');
      expect((await http).status).toBe(200);
      expect(await overTcp).toEqual([expect.objectContaining({ waitedMs: 1_500 })]);
      expect(await app.exited).toEqual({ code: 0, signal: null });
    } finally {
      tcp.close();
    }
  });
});

describe('a hybrid app under HTTP load whose routes call its TCP side', () => {
  let app: ClusterProcess;
  afterEach(() => app?.killGroup());

  it('goes through a rolling restart with no failed request', async () => {
    let port: number;
    ({ app, port } = await startKind('hybrid', { TCP_PORT: String(await freePort()) }));
    const load = startLoad(port, { connections: 10, path: '/via-tcp?ms=0' });
    await load.running;
    app.signal('SIGHUP');
    await rollingRestartDone(app);
    const result = await load.stop();
    expect(failures(result)).toBe(0);
    expect(result.requests.total).toBeGreaterThan(200);
  });
});

describe('an HTTP app on Fastify', () => {
  let app: ClusterProcess;
  afterEach(() => app?.killGroup());

  it('serves on every worker and answers its in-flight requests on SIGTERM, then exits 0', async () => {
    let port: number;
    ({ app, port } = await startKind('fastify'));
    const slots = new Set<number>();
    for (let i = 0; i < 6; i++) slots.add((await get(port, '/')).body.slot);
    expect(slots).toEqual(new Set([0, 1]));
    const slow = Promise.all([get(port, '/slow?ms=1500'), get(port, '/slow?ms=1500')]);
    await app.waitForLines(/^HANDLER_START http \d+/, 2);
    app.signal('SIGTERM');
    expect((await slow).map((r) => r.status)).toEqual([200, 200]);
    expect(await app.exited).toEqual({ code: 0, signal: null });
  });
});

describe('an application context (no listener)', () => {
  let app: ClusterProcess;
  afterEach(() => app?.killGroup());

  it('is ready once initialized, restarts after a crash, and stops its work on SIGTERM', async () => {
    const { app: started, ready } = await startKind('context');
    app = started;
    await app.waitForLines(/^TICK \d+/, 4);
    const { pid } = ready[0]!;
    process.kill(pid, 'SIGKILL');
    await app.waitForEvent((e) => e.type === 'ready' && e.slot === 0 && e.pid !== pid, 'slot 0 ready again');
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.lines.filter((l) => /^JOB_STOPPED \d+/.test(l))).toHaveLength(2);
  });
});

describe('a NATS microservice', () => {
  let app: ClusterProcess;
  let client: ClientProxy | undefined;
  afterEach(() => {
    client?.close();
    app?.killGroup();
  });

  it('every worker consumes from the queue group, and an in-flight handler finishes on SIGTERM', async () => {
    const queue = `ncl-test-${randomUUID()}.`;
    ({ app } = await startKind('nats', { NATS_URL, NATS_QUEUE: queue }));
    client = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [NATS_URL] } });
    const answers = await Promise.all(Array.from({ length: 20 }, () => ask<Who>(client!, `${queue}whoami`)));
    expect(new Set(answers.map((a) => a.slot))).toEqual(new Set([0, 1]));

    const slow = settle([ask<{ waitedMs: number }>(client, `${queue}slow`, { ms: 1_500 })]);
    await app.waitForLine(/^HANDLER_START slow \d+/);
    app.signal('SIGTERM');
    expect(await slow).toEqual([expect.objectContaining({ waitedMs: 1_500 })]);
    expect(await app.exited).toEqual({ code: 0, signal: null });
  });
});
