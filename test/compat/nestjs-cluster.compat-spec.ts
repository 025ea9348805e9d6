/**
 * Compatibility: the packed library installed in fresh user projects (Nest 11 and 12, CommonJS and ES
 * modules, the tsconfig `nest new` generates), compiled with the project's own tsc and run clustered on
 * Node 20, 22 and 24: ready, serving on two workers, healthy, an `@Interval` job on the leader only, a
 * websocket broadcast across workers, rolled on SIGHUP, stopped cleanly on SIGTERM. And in development:
 * `nest start --watch` of a clustered app, restarted on a change of a source, stopped with Ctrl-C.
 *
 * `npm run test:compat` (builds first). Node 22 and 24 come from the npm registry, cached under
 * `<tmpdir>/nestjs-cluster-compat`; the projects are made anew in a temp dir, removed when they pass and
 * kept (path printed) when they do not, or always with NESTJS_CLUSTER_COMPAT_KEEP=1.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { freePort, get, groupMembers, isAlive, until, type HttpAnswer } from '../helpers/cluster-process.js';
import { mustSucceed, nodeBinary, runCommand, stopRunningCommands, UserCluster, type PrimaryEvent } from './harness.js';
import { COMBINATIONS, projectFiles, watchedControllerTs, watchProjectFiles, type Combination, type CombinationKey } from './projects.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Node binaries, kept between runs. */
const CACHE_DIR = join(tmpdir(), 'nestjs-cluster-compat');
/** This run's tarball and projects. */
const WORK_DIR = mkdtempSync(join(tmpdir(), 'nestjs-cluster-compat-run-'));

const NODE_MAJORS = [20, 22, 24] as const;
type NodeMajor = (typeof NODE_MAJORS)[number];

/** Bounds on a loaded 2-core machine, where a boot can take 10 s and more. */
const INSTALL_MS = 300_000;
const COMPILE_MS = 180_000;
const READY_MS = 90_000;
const SERVE_MS = 60_000;
const ROLL_MS = 120_000;
const STOP_MS = 60_000;
const HEALTHY_MS = 15_000;
/** From the change of a source to the new cluster ready: a compile, a drain, a boot. */
const WATCH_RESTART_MS = 120_000;

/** Every shared promise made so far: the suite waits for them all before it cleans up. */
const started: Promise<unknown>[] = [];

/** A promise made on first use and shared; its rejection counts as handled until someone awaits it. */
function shared<T>(make: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => {
    if (!promise) {
      promise = make();
      started.push(promise.catch(() => undefined));
    }
    return promise;
  };
}

/** What the suite prints once at the end: the versions it ran and any warning seen. */
const report = {
  nodes: new Map<NodeMajor, string>(),
  projects: new Map<CombinationKey, string>(),
  watch: undefined as string | undefined,
  warnings: new Map<string, Set<string>>(),
  warn(where: string, lines: readonly string[]): void {
    if (lines.length === 0) return;
    const seen = this.warnings.get(where) ?? new Set<string>();
    for (const line of lines) seen.add(line);
    this.warnings.set(where, seen);
  },
};

const tarball = shared(async () => {
  const { stdout } = await mustSucceed('npm pack', 'npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', WORK_DIR], {
    cwd: ROOT,
    timeoutMs: 120_000,
  });
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  return join(WORK_DIR, packed!.filename);
});

const nodes = Object.fromEntries(
  NODE_MAJORS.map((major) => [
    major,
    shared(async () => {
      mkdirSync(CACHE_DIR, { recursive: true });
      const node = await nodeBinary(major, CACHE_DIR);
      report.nodes.set(major, `${node.version} (${node.path})`);
      return node;
    }),
  ]),
) as Record<NodeMajor, () => Promise<{ path: string; version: string }>>;

/** The version of a package installed in a project. */
function installed(dir: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'missing';
  }
}

/**
 * npm's warnings, but for one that this way of installing makes by itself: npm lists the `prepare` script
 * of a package that comes from anywhere but the registry (here nestjs-cluster, from a file) among the
 * install scripts not yet covered by allowScripts.
 */
function npmWarnings(output: string): string[] {
  const lines = output.split('\n').filter((line) => /^npm warn/i.test(line));
  const scripts = lines.filter((line) => /^npm warn install-scripts {3}\S+@/.test(line));
  if (scripts.length > 0 && scripts.every((line) => line.startsWith('npm warn install-scripts   nestjs-cluster@'))) {
    return lines.filter((line) => !line.startsWith('npm warn install-scripts'));
  }
  return lines;
}

/**
 * A project installed as its users install it and compiled with its own tsc. `npm install` as is, but
 * `--legacy-peer-deps=false` so that no npm setting of the machine can hide a peer conflict (ERESOLVE).
 */
const projects = Object.fromEntries(
  COMBINATIONS.map((c) => [
    c.key,
    shared(async () => {
      const dir = join(WORK_DIR, c.slug);
      for (const [path, text] of Object.entries(projectFiles(c, await tarball()))) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      const install = await mustSucceed(
        `npm install of the ${c.name} project`,
        'npm',
        ['install', '--no-audit', '--no-fund', '--legacy-peer-deps=false'],
        {
          cwd: dir,
          timeoutMs: INSTALL_MS,
        },
      );
      report.warn(`npm install of ${c.name}`, npmWarnings(install.output));
      const versions = [
        'nestjs-cluster',
        '@nestjs/core',
        '@nestjs/config',
        '@nestjs/terminus',
        '@nestjs/schedule',
        '@nestjs/websockets',
        'typescript',
        ...(c.nestCli ? ['@nestjs/cli'] : []),
      ];
      report.projects.set(c.key, `${c.name}: ${versions.map((name) => `${name} ${installed(dir, name)}`).join(', ')}`);
      await mustSucceed(`tsc in the ${c.name} project`, 'npx', ['tsc', '-p', 'tsconfig.json'], { cwd: dir, timeoutMs: COMPILE_MS });
      return dir;
    }),
  ]),
) as Record<CombinationKey, () => Promise<string>>;

/** Projects whose install, compile or a run failed: kept for diagnosis. */
const failed = new Set<CombinationKey>();

/**
 * Fresh connections to GET / until `count` distinct worker pids answered; none of `excluded` may answer.
 * Connection errors (nobody listens yet) count as not yet.
 */
async function distinctPids(port: number, count: number, excluded: ReadonlySet<number>, app: UserCluster): Promise<Set<number>> {
  const seen = new Set<number>();
  const started = Date.now();
  while (seen.size < count) {
    if (app.exitStatus) throw new Error(`the process exited (${JSON.stringify(app.exitStatus)}) before ${count} workers answered`);
    if (Date.now() - started > SERVE_MS)
      throw new Error(`timed out after ${SERVE_MS} ms waiting for ${count} workers to answer GET / (saw ${[...seen]})`);
    const answer = await get(port, '/', 5_000).catch(() => undefined);
    const pid = (answer?.body as { pid?: unknown } | undefined)?.pid;
    if (answer?.status === 200 && typeof pid === 'number') {
      if (excluded.has(pid)) throw new Error(`GET / answered by pid ${pid}, a worker that should be gone`);
      seen.add(pid);
    } else {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return seen;
}

/** GET /health until it answers 200, for a few seconds at most; the last answer. */
async function health200(port: number): Promise<HttpAnswer> {
  const started = Date.now();
  for (;;) {
    const answer = await get(port, '/health');
    if (answer.status === 200 || Date.now() - started > HEALTHY_MS) return answer;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * The pids in the `{ tick }` lines the leader's `@Interval` job wrote so far. The primary relays a
 * worker's JSON line as JSON with the worker's `slot` added, so the line is parsed, not matched.
 */
function tickPids(app: UserCluster): number[] {
  return app.lines.flatMap((line) => {
    if (!line.startsWith('{') || !line.includes('"tick"')) return [];
    const { tick } = JSON.parse(line) as { tick?: unknown };
    return typeof tick === 'number' ? [tick] : [];
  });
}

/** Websocket clients until two different workers answer `whoami`: one socket per worker pid. */
async function socketsOnTwoWorkers(port: number, opened: Socket[]): Promise<Array<[number, Socket]>> {
  const byPid = new Map<number, Socket>();
  const started = Date.now();
  while (byPid.size < 2) {
    if (Date.now() - started > SERVE_MS) throw new Error(`timed out after ${SERVE_MS} ms waiting for websockets on two workers`);
    const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
    opened.push(socket);
    const pid: unknown = await socket
      .timeout(5_000)
      .emitWithAck('whoami')
      .catch(() => undefined);
    if (typeof pid === 'number' && !byPid.has(pid)) byPid.set(pid, socket);
    else socket.close();
  }
  return [...byPid];
}

/** ClusterIoAdapter: what a client of one worker shouts, a client of the other worker hears. */
async function broadcastCrossesWorkers(port: number, workers: ReadonlySet<number>): Promise<void> {
  const opened: Socket[] = [];
  try {
    const [[pidA, a], [pidB, b]] = (await socketsOnTwoWorkers(port, opened)) as [[number, Socket], [number, Socket]];
    expect(workers.has(pidA) && workers.has(pidB)).toBe(true);
    const heard = new Promise<unknown>((resolve, reject) => {
      b.once('heard', resolve);
      setTimeout(() => reject(new Error(`worker ${pidB}'s client did not hear worker ${pidA}'s broadcast`)), 10_000).unref();
    });
    await a.timeout(5_000).emitWithAck('shout', 'hello');
    expect(await heard).toEqual({ text: 'hello', by: pidA });
  } finally {
    for (const socket of opened) socket.close();
  }
}

/** The whole life of the clustered app on one Node binary. */
async function runClustered(dir: string, node: string): Promise<UserCluster> {
  const port = await freePort();
  const app = UserCluster.start(node, dir, port);
  try {
    const ready = await app.waitForEvent((e) => e.type === 'cluster-ready', 'the cluster-ready event', READY_MS);
    expect(ready.workers).toBe(2);

    const first = await distinctPids(port, 2, new Set([app.pid]), app);
    // Each worker learns of the other's readiness from the primary: give that message a moment to arrive.
    const health = await health200(port);
    expect({ status: health.status, body: health.body as unknown }).toEqual({
      status: 200,
      body: expect.objectContaining({ status: 'ok', info: { cluster: expect.objectContaining({ status: 'up', alive: 2, expected: 2 }) } }),
    });
    // nestjs-cluster/config in a worker: what main.ts resolved
    expect((await get(port, '/settings')).body).toEqual({ workers: 2 });
    // nestjs-cluster/schedule: the @Interval job runs on one worker only, the leader
    await until(() => tickPids(app).length >= 3, 'three runs of the @Interval job', SERVE_MS);
    expect(new Set(tickPids(app)).size).toBe(1);
    expect(first.has(tickPids(app)[0]!)).toBe(true);
    // nestjs-cluster/socket.io
    await broadcastCrossesWorkers(port, first);
    // the package's `nestjs-cluster` command, as installed, on the same Node
    const command = await runCommand(node, [join('node_modules', '.bin', 'nestjs-cluster'), 'status', '--json', '--socket', app.controlSocket], {
      cwd: dir,
      timeoutMs: 20_000,
    });
    expect({ code: command.code, output: command.code === 0 ? '' : command.output }).toEqual({ code: 0, output: '' });
    const status = JSON.parse(command.stdout) as { pid: number; processes: Array<{ pid: number }> };
    expect(status.pid).toBe(app.pid);
    expect(new Set(status.processes.map((worker) => worker.pid))).toEqual(first);

    app.signal('SIGHUP');
    const rolled = await app.waitForEvent(
      (e) => e.type === 'rolling-restart' && (e.phase === 'done' || e.phase === 'aborted'),
      'the rolling restart to end',
      ROLL_MS,
    );
    expect(rolled).toEqual(expect.objectContaining({ phase: 'done', reason: expect.stringContaining('SIGHUP') }));
    const second = await distinctPids(port, 2, new Set([app.pid, ...first]), app);
    expect([...second].filter((pid) => first.has(pid))).toEqual([]);

    app.signal('SIGTERM');
    const exit = await app.waitForExit(STOP_MS);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(app.events.find((e) => e.type === 'shutdown')).toEqual(expect.objectContaining({ reason: 'SIGTERM' }));
    const last: PrimaryEvent | undefined = app.events.at(-1);
    expect(last).toEqual(expect.objectContaining({ type: 'stopped', code: 0 }));
    await until(() => groupMembers(app.pid).length === 0, 'every process of the group to be gone', 10_000).catch(() => undefined);
    expect(groupMembers(app.pid)).toEqual([]);
    return app;
  } catch (error) {
    app.killGroup();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n--- output of node dist/main.js (${node}) in ${dir}:\n${app.output()}`, { cause: error });
  }
}

/** The primary's pid and its workers', from the `nestjs-cluster` command as installed. */
async function clusterStatus(dir: string, socket: string): Promise<{ pid: number; workers: Set<number> }> {
  const command = await runCommand('node', [join('node_modules', '.bin', 'nestjs-cluster'), 'status', '--json', '--socket', socket], {
    cwd: dir,
    timeoutMs: 20_000,
  });
  if (command.code !== 0) throw new Error(`nestjs-cluster status: exit ${command.code ?? command.signal}:\n${command.output}`);
  const status = JSON.parse(command.stdout) as { pid: number; processes: Array<{ pid: number }> };
  return { pid: status.pid, workers: new Set(status.processes.map((worker) => worker.pid)) };
}

/** GET / until it answers `answer`; how long that took. Connection errors (nobody listens) count as not yet. */
async function untilAnswer(port: number, answer: string, app: UserCluster, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (app.exitStatus) throw new Error(`the process exited (${JSON.stringify(app.exitStatus)}) before GET / answered ${answer}`);
    const got = await get(port, '/', 5_000).catch(() => undefined);
    if ((got?.body as { answer?: unknown } | undefined)?.answer === answer) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for GET / to answer ${answer}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Fresh connections to GET / until `count` distinct workers answered `answer`; any other answer fails. */
async function workersAnswering(port: number, count: number, answer: string): Promise<Set<number>> {
  const seen = new Set<number>();
  const started = Date.now();
  while (seen.size < count) {
    if (Date.now() - started > SERVE_MS) throw new Error(`timed out after ${SERVE_MS} ms waiting for ${count} workers to answer (saw ${[...seen]})`);
    const { status, body } = await get(port, '/', 5_000);
    expect({ status, answer: (body as { answer?: unknown }).answer }).toEqual({ status: 200, answer });
    seen.add((body as { pid: number }).pid);
  }
  return seen;
}

/**
 * `nest start --watch` of a clustered app (two workers), as a developer runs it: it serves; a source
 * changes; the Nest CLI stops the process tree (SIGTERM to each worker, then to the primary, by pid) and
 * once the primary exited runs it again. No process of the first run is left, the new primary serves
 * the change on exactly two workers, nobody found the port taken; Ctrl-C stops everything.
 */
async function runWatched(dir: string): Promise<string> {
  const port = await freePort();
  const app = UserCluster.nestStartWatch(dir, port);
  try {
    const booting = Date.now();
    const ready = await app.waitForEvent((e) => e.type === 'cluster-ready', 'the cluster-ready event', COMPILE_MS + READY_MS);
    expect(ready.workers).toBe(2);
    const bootMs = Date.now() - booting;
    const first = await clusterStatus(dir, app.controlSocket);
    expect(first.workers.size).toBe(2);
    expect(await workersAnswering(port, 2, 'first')).toEqual(first.workers);

    const mark = app.events.length;
    const changed = Date.now();
    writeFileSync(join(dir, 'src', 'app.controller.ts'), watchedControllerTs('second'));
    const answeringMs = await untilAnswer(port, 'second', app, WATCH_RESTART_MS);
    await app.waitForEvent((e) => e.type === 'cluster-ready' && app.events.indexOf(e) >= mark, 'the new cluster-ready event', WATCH_RESTART_MS);
    const restartMs = Date.now() - changed;

    // The first run is gone, all of it, and stopped as a SIGTERM asks: drained, no crash, exit 0.
    for (const pid of [first.pid, ...first.workers]) expect({ pid, alive: isAlive(pid) }).toEqual({ pid, alive: false });
    const exits = app.events.filter((e) => e.type === 'exit' && first.workers.has(e.pid as number));
    expect(exits).toEqual([...first.workers].map(() => expect.objectContaining({ expected: true, reason: 'shutdown', code: 0 })));
    const since = app.events.slice(mark);
    const [shutdown] = since.filter((e) => e.type === 'shutdown');
    const [stopped] = since.filter((e) => e.type === 'stopped');
    expect(since.filter((e) => e.type === 'shutdown')).toEqual([expect.objectContaining({ reason: 'SIGTERM' })]);
    expect(since.filter((e) => e.type === 'stopped')).toEqual([expect.objectContaining({ code: 0 })]);
    const drainMs = (stopped!.at as number) - (shutdown!.at as number);
    expect(since.filter((e) => e.type === 'restart-scheduled' || e.type === 'crash-loop')).toEqual([]);
    // One new cluster of two workers, on the same port and control socket.
    const second = await clusterStatus(dir, app.controlSocket);
    expect(second.workers.size).toBe(2);
    expect([second.pid, ...second.workers].filter((pid) => pid === first.pid || first.workers.has(pid))).toEqual([]);
    expect(await workersAnswering(port, 2, 'second')).toEqual(second.workers);
    expect(app.lines.filter((line) => line.includes('EADDRINUSE'))).toEqual([]);

    // Ctrl-C: SIGINT to every process of the group, the CLI forwards it to the primary as well, then
    // exits with the primary's code.
    app.signalGroup('SIGINT');
    expect(await app.waitForExit(STOP_MS)).toEqual({ code: 0, signal: null });
    expect(app.events.filter((e) => e.type === 'shutdown').at(-1)).toEqual(expect.objectContaining({ reason: 'SIGINT' }));
    expect(app.events.at(-1)).toEqual(expect.objectContaining({ type: 'stopped', code: 0 }));
    await until(() => groupMembers(app.pid).length === 0, 'every process of the group to be gone', 10_000).catch(() => undefined);
    expect(groupMembers(app.pid)).toEqual([]);
    return `nest start --watch (node on the PATH ${process.version}): first compile to cluster ready ${bootMs} ms; change to answering again ${answeringMs} ms (the first run drained in ${drainMs} ms), to the new cluster ready ${restartMs} ms`;
  } catch (error) {
    app.killGroup();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n--- output of nest start --watch in ${dir}:\n${app.output()}`, { cause: error });
  }
}

const CASES = COMBINATIONS.flatMap((combination) =>
  NODE_MAJORS.map((major) => ({ title: `${combination.name} on Node ${major}`, combination, major })),
);

describe('nestjs-cluster in a fresh user project', () => {
  beforeAll(() => {
    // Everything starts at once: the installs are network-bound; the runs below wait on what they need.
    for (const major of NODE_MAJORS) void nodes[major]().catch(() => undefined);
    for (const c of COMBINATIONS) void projects[c.key]().catch(() => undefined);
  });

  afterAll(async () => {
    // An install no case waits for (a run of some cases only, -t) is stopped, not left behind.
    stopRunningCommands();
    await Promise.all(started);
    const lines = [
      ...[...report.nodes].sort(([a], [b]) => a - b).map(([major, node]) => `Node ${major}: ${node}`),
      ...COMBINATIONS.flatMap((c) => report.projects.get(c.key) ?? []),
      ...(report.watch ? [report.watch] : []),
      ...[...report.warnings].flatMap(([where, seen]) => [`warnings, ${where}:`, ...[...seen].map((line) => `  ${line}`)]),
    ];
    if (lines.length > 0) console.log(lines.join('\n'));
    if (process.env.NESTJS_CLUSTER_COMPAT_KEEP === '1') {
      console.log(`Kept (NESTJS_CLUSTER_COMPAT_KEEP=1): ${WORK_DIR}`);
      return;
    }
    if (failed.size === 0) {
      rmSync(WORK_DIR, { recursive: true, force: true });
      return;
    }
    for (const c of COMBINATIONS) {
      if (failed.has(c.key)) continue;
      rmSync(join(WORK_DIR, c.slug), { recursive: true, force: true });
      rmSync(join(WORK_DIR, `${c.slug}-watch`), { recursive: true, force: true });
    }
    console.log(`Kept for diagnosis: ${WORK_DIR} (${readdirSync(WORK_DIR).join(', ')})`);
  });

  // Two clusters at a time at most (maxConcurrency in test/compat/jest.config.js).
  it.concurrent.each(CASES)('$title', async ({ combination, major }: { combination: Combination; major: NodeMajor }) => {
    try {
      const [dir, node] = await Promise.all([projects[combination.key](), nodes[major]()]);
      const app = await runClustered(dir, node.path);
      // Without pids and timestamps, so that each warning shows once per Node version.
      const seen = app.warnings().map((line) => line.replace(/^\(node:\d+\)/, '(node)').replace(/^\[Nest\] \d+ .*? (WARN|ERROR) /, '[Nest] $1 '));
      report.warn(`running on Node ${node.version}`, seen);
    } catch (error) {
      failed.add(combination.key);
      throw error;
    }
  });

  const watched = COMBINATIONS.find((c) => c.nestCli)!;
  it.concurrent(`${watched.name}: nest start --watch restarts the cluster on a change`, async () => {
    try {
      // The app of its own directory, on the installed packages of the combination's project.
      const installed = await projects[watched.key]();
      const dir = join(WORK_DIR, `${watched.slug}-watch`);
      for (const [path, text] of Object.entries(watchProjectFiles(watched, await tarball(), 'first'))) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      symlinkSync(join(installed, 'node_modules'), join(dir, 'node_modules'), 'dir');
      report.watch = await runWatched(dir);
    } catch (error) {
      failed.add(watched.key);
      throw error;
    }
  });
});
