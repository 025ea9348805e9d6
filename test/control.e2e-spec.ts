/**
 * The `nestjs-cluster` command against real clusters, through the primary's control socket: what it
 * shows, who may use it, and the verbs that act (reload, scale, stop); and `ClusterService.scale`, the
 * same change asked from a worker.
 */
import { jest } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterProcess, freePort, get, pollReady } from './helpers/cluster-process.js';
import { failures, startLoad } from './helpers/load.js';
import { pollUntil, q } from './helpers/messaging-cluster.js';

jest.setTimeout(120_000);

const CLI = fileURLToPath(new URL('../dist/cli/nestjs-cluster.js', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the command as a user would (`prefix`: e.g. another user), resolving with its exit code and output. */
function cli(args: readonly string[], prefix: readonly string[] = [], env: Record<string, string> = {}): Promise<Run> {
  const [command, ...rest] = [...prefix, process.execPath, CLI, ...args];
  const child = spawn(command!, rest, { env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** A raw request on the socket, for what the command would never send. */
function rawRequest(socket: string, line: string): Promise<{ ok: boolean; error?: { code: string } }> {
  return new Promise((resolve, reject) => {
    const connection = createConnection(socket, () => connection.write(`${line}\n`));
    let received = '';
    connection.on('data', (chunk) => (received += chunk));
    connection.on('close', () => resolve(JSON.parse(received)));
    connection.on('error', reject);
  });
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('nestjs-cluster, the command', () => {
  const apps: ClusterProcess[] = [];
  let folder: string;

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'ncl-control-'));
  });

  afterEach(() => {
    for (const app of apps.splice(0)) app.killGroup();
    rmSync(folder, { recursive: true, force: true });
  });

  async function start(env: Record<string, string> = {}, workers = 2): Promise<{ app: ClusterProcess; port: number; socket: string }> {
    const port = await freePort();
    const socket = join(folder, 'ctl.sock');
    const app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: String(workers), CLUSTER_CONTROL_SOCKET: socket, ...env });
    apps.push(app);
    await app.waitForReady(workers);
    return { app, port, socket };
  }

  it('status --json lists what workers() says, with memory and CPU; the socket and its token are 0600', async () => {
    const { app, port, socket } = await start();
    const ready = await app.waitForReady(2);
    const run = await cli(['status', '--json', '--socket', socket]);
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout);
    const { body } = await get(port, '/workers');
    const workers = (body.workers as Array<{ slot: number; pid: number; state: string }>).map(({ slot, pid, state }) => ({ slot, pid, state }));
    expect(status.processes.map(({ slot, pid, state }: { slot: number; pid: number; state: string }) => ({ slot, pid, state }))).toEqual(workers);
    expect(status.processes.map((p: { pid: number }) => p.pid)).toEqual(ready.map((r) => r.pid));
    expect(status).toMatchObject({ pid: app.pid, workers: 2, name: 'default', transport: 'none' });
    for (const p of status.processes) {
      expect(p.rssMb).toBeGreaterThan(10);
      expect(p.cpuPercent).toBeGreaterThanOrEqual(0);
    }
    expect(status.processes.filter((p: { leader: boolean }) => p.leader)).toHaveLength(1);
    expect(mode(socket)).toBe(0o600);
    expect(mode(`${socket}.token`)).toBe(0o600);

    // The table a person reads names every worker's pid; `ls` is the same verb.
    const table = await cli(['ls', '--socket', socket]);
    expect(table.code).toBe(0);
    for (const { pid } of ready) expect(table.stdout).toContain(String(pid));

    const one = await cli(['describe', '1', '--json', '--socket', socket]);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout).processes).toEqual([expect.objectContaining({ slot: 1, pid: ready[1]!.pid })]);
    expect((await cli(['describe', '7', '--socket', socket])).code).toBe(1);
    expect((await cli(['describe', 'x', '--socket', socket])).code).toBe(2);
    expect((await cli(['frobnicate', '--socket', socket])).code).toBe(2);
  });

  it('refuses a wrong token, and a user who cannot open the folder; refuses a request past its size', async () => {
    const { socket } = await start();
    expect(await rawRequest(socket, JSON.stringify({ token: 'not-it', verb: 'status' }))).toMatchObject({ ok: false, error: { code: 'bad-token' } });
    expect(await rawRequest(socket, JSON.stringify({ verb: 'status' }))).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(await rawRequest(socket, 'x'.repeat(5_000))).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    // Another user: the socket and the token are the owner's alone.
    if (process.getuid?.() === 0 && spawnSync('runuser', ['--help']).status === 0) {
      const other = await cli(['status', '--socket', socket], ['runuser', '-u', 'nobody', '--']);
      expect(other.code).toBe(3);
    }
  });

  it('reload replaces every worker under keep-alive load, with zero failed requests, and exits 0; stop waits for the exit code, and the files go', async () => {
    const { app, port, socket } = await start();
    const before = await app.waitForReady(2);
    const load = startLoad(port, { connections: 20, maxSeconds: 60 });
    await load.running;
    let reload: Run;
    try {
      reload = await cli(['reload', '--json', '--socket', socket]);
    } finally {
      const result = await load.stop();
      expect(result.requests.total).toBeGreaterThan(100);
      expect(failures(result)).toBe(0);
    }
    expect(reload.code).toBe(0);
    expect(JSON.parse(reload.stdout)).toEqual({ replaced: 2 });
    const after = JSON.parse((await cli(['status', '--json', '--socket', socket])).stdout).processes as Array<{ pid: number }>;
    expect(after.map((p) => p.pid).filter((pid) => before.some((b) => b.pid === pid))).toEqual([]);
    await pollReady(port, 2);

    const stop = await cli(['stop', '--json', '--socket', socket]);
    expect(stop.code).toBe(0);
    expect(JSON.parse(stop.stdout)).toEqual({ code: 0 });
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(socket)).toBe(false);
    expect(existsSync(`${socket}.token`)).toBe(false);
    expect((await cli(['status', '--socket', socket])).code).toBe(3);
  });

  it('scale 4, scale -2 and scale +1 under keep-alive load: zero failed requests, the removed workers drain and are gone', async () => {
    const { app, port, socket } = await start();
    const load = startLoad(port, { connections: 20, maxSeconds: 90 });
    await load.running;
    try {
      const up = await cli(['scale', '4', '--json', '--socket', socket]);
      expect(up.code).toBe(0);
      expect(JSON.parse(up.stdout)).toEqual({ from: 2, to: 4 });
      const four = JSON.parse((await cli(['status', '--json', '--socket', socket])).stdout);
      expect(four.workers).toBe(4);
      expect(four.processes.map((p: { slot: number; state: string }) => `${p.slot}:${p.state}`)).toEqual([
        '0:ready',
        '1:ready',
        '2:ready',
        '3:ready',
      ]);

      const down = await cli(['scale', '-2', '--json', '--socket', socket]);
      expect(down.code).toBe(0);
      expect(JSON.parse(down.stdout)).toEqual({ from: 4, to: 2 });
      const gone = four.processes.filter((p: { slot: number }) => p.slot >= 2).map((p: { pid: number }) => p.pid);
      const exits = app.primaryEvents().filter((e) => e.type === 'exit' && gone.includes(e.pid!));
      expect(exits.map((e) => [e.reason, e.expected])).toEqual([
        ['scaled-down', true],
        ['scaled-down', true],
      ]);
      expect(app.primaryEvents().some((e) => e.type === 'restart-scheduled')).toBe(false);
      expect((await cli(['scale', '+1', '--socket', socket])).code).toBe(0);
      expect(JSON.parse((await cli(['status', '--json', '--socket', socket])).stdout).processes).toHaveLength(3);
    } finally {
      const result = await load.stop();
      expect(result.requests.total).toBeGreaterThan(100);
      expect(failures(result)).toBe(0);
    }
    expect((await cli(['scale', '0', '--socket', socket])).code).toBe(2);
    expect((await cli(['scale', 'lots', '--socket', socket])).code).toBe(2);
  });

  it('ClusterService.scale in a worker: the same change as the command; a worker it removes hears the answer; a bad value is refused', async () => {
    const { app, port, socket } = await start();
    const status = async () => JSON.parse((await cli(['status', '--json', '--socket', socket])).stdout);
    const slots = (processes: Array<{ slot: number; state: string }>) => processes.map((p) => `${p.slot}:${p.state}`);

    const up = await get(port, `/scale?workers=${q(4)}`, 90_000);
    expect(up.body.result).toEqual({ from: 2, to: 4 });
    const four = await status();
    expect(four.workers).toBe(4);
    expect(slots(four.processes)).toEqual(['0:ready', '1:ready', '2:ready', '3:ready']);
    // What workers() says in the workers, once the last ready reached the one that answers.
    await pollUntil(async () => {
      const { body } = await get(port, '/workers');
      return slots(body.workers).join() === '0:ready,1:ready,2:ready,3:ready';
    }, 'workers() with 4 ready workers');

    // Slot 3 asks for the change that removes it: it is answered while it drains, not after its own exit.
    const three = four.processes.find((p: { slot: number }) => p.slot === 3);
    const down = await get(port, `/scale?workers=${q('-2')}&slot=3`, 90_000);
    expect(down.body).toEqual({ by: { slot: 3, pid: three.pid }, result: { from: 4, to: 2 } });
    const gone = four.processes.filter((p: { slot: number }) => p.slot >= 2).map((p: { pid: number }) => p.pid);
    const exits = await app.waitForPrimaryEvents((events) => {
      const found = events.filter((e) => e.type === 'exit' && gone.includes(e.pid!));
      return found.length === 2 ? found : undefined;
    }, 'the exits of slots 2 and 3');
    expect(exits.map((e) => [e.reason, e.expected, e.code])).toEqual([
      ['scaled-down', true, 0],
      ['scaled-down', true, 0],
    ]);
    expect((await status()).workers).toBe(2);

    // Refused with the value as the worker gave it and what is allowed; nothing changes.
    const refused = async (workers: unknown) => (await get(port, `/scale?workers=${q(workers)}`)).body.error;
    const invalid = (value: unknown, allowed: string) => ({
      name: 'ClusterArgumentError',
      code: 'CLUSTER_ERR_INVALID_ARGUMENT',
      message: `Invalid workers: ${JSON.stringify(value)} is not allowed; expected ${allowed}.`,
    });
    const anyCount = "a worker count from 1 to 4096 (4), or a change of it as a string ('+2', '-1')";
    expect(await refused('lots')).toEqual(invalid('lots', anyCount));
    expect(await refused(-2)).toEqual(invalid(-2, anyCount));
    expect(await refused(2.5)).toEqual(invalid(2.5, anyCount));
    expect(await refused(0)).toEqual(invalid(0, 'a worker count from 1 to 4096'));
    expect(await refused(5000)).toEqual(invalid(5000, 'a worker count from 1 to 4096'));
    expect(await refused('-2')).toEqual(invalid('-2', 'a change that leaves from 1 to 4096 workers (there are 2: -2 would leave 0)'));
    const after = await status();
    expect(after.workers).toBe(2);
    expect(slots(after.processes)).toEqual(['0:ready', '1:ready']);
    // The command refuses the same values the same way.
    const command = await cli(['scale', '-2', '--socket', socket]);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('scale -2: expected a change that leaves from 1 to 4096 workers (there are 2: -2 would leave 0)');
  });

  it('logs shows the last lines of every worker, and --follow a line a worker writes later; it ends when the cluster stops', async () => {
    const { app, port, socket } = await start();
    const [w0, w1] = await app.waitForReady(2);
    const last = await cli(['logs', '--json', '--lines', '1000', '--socket', socket]);
    expect(last.code).toBe(0);
    const kept = last.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { slot: number; pid: number; line: string });
    // Both workers wrote (their boot), each line with its slot and pid.
    expect(new Set(kept.map((l) => `${l.slot}/${l.pid}`))).toEqual(new Set([`0/${w0!.pid}`, `1/${w1!.pid}`]));

    const [command, ...args] = [process.execPath, CLI, 'logs', '-f', '--lines', '0', '--json', '--socket', socket];
    const tail = spawn(command!, args, { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    tail.stdout.on('data', (chunk: Buffer) => (followed += chunk));
    const exited = new Promise<number | null>((resolve) => tail.on('close', resolve));
    try {
      const tag = `followed-${Date.now()}`;
      // The leader writes a line with the tag; the tail may start a moment after the request: ask until it shows.
      await pollUntil(
        async () => {
          if (!followed.includes(tag)) await get(port, `/once?tag=${tag}`).catch(() => undefined);
          return followed.includes(tag);
        },
        'the followed line',
        20_000,
      );
      const line = followed
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { slot: number; line: string })
        .find((l) => l.line.includes(tag))!;
      expect(line.line).toMatch(/^ONCE /);
      expect([0, 1]).toContain(line.slot);
      app.signal('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      tail.kill();
    }
  });

  it('never takes over the socket of a live primary; replaces the one a killed primary left', async () => {
    const first = await start();
    // A second cluster on the same socket runs, without a control socket of its own.
    const second = await start();
    const status = JSON.parse((await cli(['status', '--json', '--socket', first.socket])).stdout);
    expect(status.pid).toBe(first.app.pid);

    first.app.killGroup();
    await first.app.exited;
    second.app.killGroup();
    await second.app.exited;
    expect(existsSync(first.socket)).toBe(true); // SIGKILL leaves it behind
    const third = await start();
    const now = JSON.parse((await cli(['status', '--json', '--socket', third.socket])).stdout);
    expect(now.pid).toBe(third.app.pid);
  });

  it('finds the socket by name in $XDG_RUNTIME_DIR/nestjs-cluster, a folder closed to others', async () => {
    const port = await freePort();
    const env = { XDG_RUNTIME_DIR: folder, CLUSTER_NAME: 'orders' };
    const app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: '1', CLUSTER_CONTROL_SOCKET: undefined, ...env });
    apps.push(app);
    await app.waitForReady(1);
    expect(mode(join(folder, 'nestjs-cluster'))).toBe(0o700);
    const run = await cli(['status', '--json'], [], env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ name: 'orders', pid: app.pid });
    expect((await cli(['status', '--name', 'other'], [], { XDG_RUNTIME_DIR: folder })).code).toBe(3);
  });
});
