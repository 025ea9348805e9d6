/**
 * Every recipe of README.md and docs/*.md runs as written.
 *
 * The rule that ties the docs to the code: every ```ts block of README.md and docs/*.md, whitespace
 * normalised (each run of spaces, tabs and line breaks counts as one space), appears whole in one
 * file under test/recipes/. A recipe file may hold more than its block (the imports a short block
 * leaves out; a module, or a main.ts, that a block needs around it), never less. A block that is not
 * code to run takes another fence (```text, ```sh) and is not checked.
 *
 * Then the recipe files compile against the built package with no cast (`tsc -p
 * test/recipes/tsconfig.json` into test/recipes/dist/, as `npm run build:test` does; incremental, so
 * after a build:test it only checks). A recipe folder with a package.json of its own is a project of
 * that module system (quick-start/ is CommonJS, as `nest new` makes it): the package.json is copied
 * beside its build. Every main.ts under test/recipes/ starts as a user would
 * start it: `node` on its build, with CLUSTER_WORKERS=2 and a free port of 127.0.0.1, in its own
 * process group. Each waits for the primary's `cluster ready` line and for answers from the
 * recipe's app (HTTP, a `ClientProxy`, socket.io clients), then SIGTERMs the primary and expects exit
 * code 0 with no process left in the group. Two recipes run at a time (2 cores).
 */
import { ClientProxyFactory, Transport, type ClientProxy, type ClientOptions } from '@nestjs/microservices';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstValueFrom, timeout } from 'rxjs';
import type { Socket } from 'socket.io-client';
import { ClusterProcess, freePort, get, groupMembers, until, type HttpAnswer, type ObservedEventBody } from './helpers/cluster-process.js';
import { connectClient } from './helpers/socket-clients.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RECIPES = join(ROOT, 'test', 'recipes');
const RECIPES_DIST = join(RECIPES, 'dist');
const NATS_URL = 'nats://127.0.0.1:4222'; // the NATS recipe names this server: every machine runs one
const START_TIMEOUT_MS = 60_000;
const TEST_TIMEOUT_MS = 240_000; // a test may wait for its turn behind the others

// ---------------------------------------------------------------------------------------------------
// The docs' blocks and the recipe files

interface DocBlock {
  /** The doc, relative to the repository, e.g. `docs/metrics.md`. */
  readonly doc: string;
  /** Line of the opening fence (1-based). */
  readonly line: number;
  readonly firstLine: string;
  readonly text: string;
}

interface RecipeFile {
  /** Relative to the repository, e.g. `test/recipes/use/main.ts`. */
  readonly path: string;
  readonly text: string;
}

const TS_FENCE = /^\s*```(ts|typescript)\s*$/;

/** The ```ts blocks of one markdown text, in order. */
function tsBlocks(doc: string, markdown: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^\s*```(\S*)/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && /^\s*```\s*$/.test(l));
    if (end === -1) throw new Error(`${doc}:${i + 1}: a code fence that is never closed`);
    if (TS_FENCE.test(lines[i]!)) {
      const body = lines.slice(i + 1, end);
      blocks.push({ doc, line: i + 1, firstLine: body.find((l) => l.trim() !== '')?.trim() ?? '', text: body.join('\n') });
    }
    i = end;
  }
  return blocks;
}

const normalise = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** README.md and docs/*.md, relative to the repository. */
function docs(): string[] {
  return [
    'README.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
}

function docsWithBlocks(): DocBlock[] {
  return docs().flatMap((doc) => tsBlocks(doc, readFileSync(join(ROOT, doc), 'utf8')));
}

function recipeFiles(dir = RECIPES): RecipeFile[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'dist' || entry.name === 'node_modules' ? [] : recipeFiles(path);
    return entry.name.endsWith('.ts') ? [{ path: relative(ROOT, path), text: readFileSync(path, 'utf8') }] : [];
  });
}

/** The recipe file holding `block`, if any. */
function locate(block: DocBlock, files: readonly RecipeFile[]): string | undefined {
  const wanted = normalise(block.text);
  return files.find((f) => normalise(f.text).includes(wanted))?.path;
}

/** The file sharing the most lines with `block`: where its copy most likely drifted. */
function closest(block: DocBlock, files: readonly RecipeFile[]): string | undefined {
  const lines = block.text
    .split('\n')
    .map(normalise)
    .filter((l) => l.length > 3);
  let best: { path: string; shared: number } | undefined;
  for (const file of files) {
    const own = new Set(file.text.split('\n').map(normalise));
    const shared = lines.filter((l) => own.has(l)).length;
    if (shared > 0 && shared > (best?.shared ?? 0)) best = { path: file.path, shared };
  }
  return best?.path;
}

function driftMessage(block: DocBlock, files: readonly RecipeFile[]): string {
  const near = closest(block, files);
  return (
    `${block.doc}:${block.line}: the ts block that begins "${block.firstLine}" is in no file under test/recipes/. ` +
    (near
      ? `Its closest copy is ${near}: update the block or that file so that the file holds the block as written (whitespace aside).`
      : 'Add it to a recipe file under test/recipes/ (and a main.ts that starts it if it is a whole app), or fence it as ```text if it is not code to run.')
  );
}

// ---------------------------------------------------------------------------------------------------
// Starting recipes

/** At most two clusters (or compilations) at a time: the suite must stay fast on 2 busy cores. */
const turns = { free: 2, waiting: [] as Array<() => void> };
async function inTurn<T>(work: () => Promise<T>): Promise<T> {
  if (turns.free > 0) turns.free -= 1;
  else await new Promise<void>((resolve) => turns.waiting.push(resolve));
  try {
    return await work();
  } finally {
    const next = turns.waiting.shift();
    if (next) next();
    else turns.free += 1;
  }
}

/**
 * Builds test/recipes/ into test/recipes/dist/ with the command `npm run build:test` runs, once per
 * run of this file (incremental: after `npm run build:test` it has nothing to do). Resolves with what
 * tsc printed and its exit code.
 */
let compilation: Promise<{ output: string; code: number | null }> | undefined;
function compileRecipes(): Promise<{ output: string; code: number | null }> {
  compilation ??= (async () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const child = spawn(process.execPath, [tsc, '-p', join(RECIPES, 'tsconfig.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    return { output, code };
  })();
  return compilation;
}

/** The build of `main` (relative to test/recipes/, e.g. `use/main.ts`), compiled first. */
async function builtMain(main: string): Promise<string> {
  const { output, code } = await compileRecipes();
  if (code !== 0) throw new Error(`the recipes do not compile (tsc exit code ${code}):\n${output}`);
  const script = join(RECIPES_DIST, main.replace(/\.ts$/, '.js'));
  if (!existsSync(script)) throw new Error(`${script} is missing after tsc -p test/recipes/tsconfig.json`);
  // A project of its own module system: node reads the nearest package.json to tell CommonJS from ESM.
  const ownPackage = join(RECIPES, dirname(main), 'package.json');
  if (existsSync(ownPackage)) copyFileSync(ownPackage, join(RECIPES_DIST, dirname(main), 'package.json'));
  return script;
}

interface Started {
  readonly app: ClusterProcess;
  readonly port: number;
  /** The environment the recipe was started with (besides the workers and the port). */
  readonly env: Record<string, string>;
  /** Pids of the workers as the primary forked them. */
  readonly pids: () => number[];
}

/** Starts a recipe's main as `node main.js` with 2 workers on a free port; resolves once the cluster is ready. */
async function startRecipe(main: string, env: Record<string, string> = {}): Promise<Started> {
  const script = await builtMain(main);
  const port = await freePort();
  const app = ClusterProcess.start({ CLUSTER_WORKERS: '2', PORT: String(port), CLUSTER_HOST: '127.0.0.1', ...env }, script);
  try {
    await app.waitForLine(/cluster ready: 2 worker\(s\)/, START_TIMEOUT_MS);
  } catch (error) {
    app.killGroup();
    throw error;
  }
  return { app, port, env, pids: () => forkedPids(app) };
}

/**
 * Pids of the workers, from the primary's `worker N forked (id I, pid P)` lines: a recipe runs as
 * written, so most have no `onPrimaryEvent` and their log is all a test can read.
 */
function forkedPids(app: ClusterProcess): number[] {
  return app.lines.flatMap((l) => {
    const m = /worker \d+ forked \(id \d+, pid (\d+)\)/.exec(l);
    return m ? [Number(m[1])] : [];
  });
}

/** SIGTERM to the primary: exit code 0, and nothing left of its process group. */
async function stopRecipe(app: ClusterProcess): Promise<void> {
  app.signal('SIGTERM');
  const exit = await app.exited;
  if (exit.code !== 0) throw new Error(`the primary exited with ${JSON.stringify(exit)} after SIGTERM; output:\n${app.output()}`);
  await until(() => groupMembers(app.pid).length === 0, `no process left in the group of ${app.pid}`, 10_000);
}

/** Starts `main`, runs `check`, stops it, then runs `afterStop`; whatever happens, nothing of it is left running. */
function runRecipe(
  main: string,
  env: Record<string, string>,
  check: (started: Started) => Promise<unknown>,
  afterStop?: (app: ClusterProcess) => unknown,
): Promise<void> {
  return inTurn(async () => {
    let app: ClusterProcess | undefined;
    try {
      const started = await startRecipe(main, env);
      app = started.app;
      await check(started);
      await stopRecipe(app);
      await afterStop?.(app);
    } finally {
      app?.killGroup();
    }
  });
}

/** GETs `path` until `done` holds for the answers so far (a fresh connection each: node:cluster deals them out). */
async function getUntil(port: number, path: string, done: (answers: HttpAnswer[]) => boolean, what: string, tries = 40): Promise<HttpAnswer[]> {
  const answers: HttpAnswer[] = [];
  while (!done(answers)) {
    if (answers.length >= tries)
      throw new Error(`${tries} answers to GET ${path} and still not ${what}: ${JSON.stringify(answers.map((a) => a.body))}`);
    answers.push(await get(port, path));
  }
  return answers;
}

const slotsOf = (answers: HttpAnswer[]): Set<number> => new Set(answers.map((a) => (a.body as { slot: number }).slot));

interface Who {
  pid: number;
  slot: number;
}

/** Asks `pattern` through clients of Nest's own until both workers answered; resolves with every answer. */
async function askUntilBothWorkers(options: ClientOptions, pattern: string, clientsCount: number, tries = 40): Promise<Who[]> {
  const clients: ClientProxy[] = Array.from({ length: clientsCount }, () => ClientProxyFactory.create(options));
  const answers: Who[] = [];
  try {
    for (let i = 0; new Set(answers.map((a) => a.slot)).size < 2; i += 1) {
      if (i >= tries) throw new Error(`${tries} answers to ${pattern} and still not both workers: ${JSON.stringify(answers)}`);
      answers.push(await firstValueFrom(clients[i % clients.length]!.send<Who>(pattern, {}).pipe(timeout(10_000))));
    }
    return answers;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

// ---------------------------------------------------------------------------------------------------

describe('the docs and the recipe files', () => {
  const blocks = docsWithBlocks();
  const files = recipeFiles();

  it('finds every ```ts block of README.md and docs/*.md', () => {
    const fences = docs().flatMap((doc) =>
      readFileSync(join(ROOT, doc), 'utf8')
        .split('\n')
        .filter((l) => TS_FENCE.test(l)),
    );
    expect(blocks.length).toBe(fences.length);
    expect(blocks.filter((b) => b.doc === 'README.md').length).toBeGreaterThan(0);
  });

  it.each(blocks.map((b) => [`${b.doc}:${b.line} "${b.firstLine}"`, b] as const))('%s is in a recipe file', (_name, block) => {
    if (!locate(block, files)) throw new Error(driftMessage(block, files));
  });

  it('reports a block that drifted from its recipe file: the doc, its first line and the file to update', () => {
    const block = blocks.find((b) => b.doc === 'README.md' && b.firstLine === '// src/main.ts')!;
    expect(locate(block, files)).toBe('test/recipes/quick-start/main.ts');
    const drifted = { ...block, text: block.text.replace('bootstrapClustered(AppModule)', 'bootstrapClustered(AppModule, { port: 3001 })') };
    expect(locate(drifted, files)).toBeUndefined();
    expect(driftMessage(drifted, files)).toBe(
      `README.md:${block.line}: the ts block that begins "// src/main.ts" is in no file under test/recipes/. ` +
        'Its closest copy is test/recipes/quick-start/main.ts: update the block or that file so that the file holds the block as written (whitespace aside).',
    );
  });
});

describe('the recipe files', () => {
  it.concurrent(
    'compile against the built package with no cast',
    async () => {
      const { output, code } = await compileRecipes();
      expect(output).toBe('');
      expect(code).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );

  const started = new Set<string>();
  /** A test that starts `main` (relative to test/recipes/); the list is checked against the files. */
  const starts = (
    main: string,
    name: string,
    env: Record<string, string> | (() => Promise<Record<string, string>>),
    check: (s: Started) => Promise<unknown>,
    afterStop?: (app: ClusterProcess) => unknown,
  ) => {
    started.add(main);
    it.concurrent(`${main} ${name}`, async () => runRecipe(main, typeof env === 'function' ? await env() : env, check, afterStop), TEST_TIMEOUT_MS);
  };

  starts(
    'use/main.ts',
    "(docs/app-kinds.md main.ts, docs/messages.md Watcher): Nest answers; the Watcher reports a worker's crash",
    {},
    async ({ app, port }) => {
      // The recipe has no route: Nest's own 404 is the app's answer.
      const answer = await get(port, '/');
      expect(answer).toMatchObject({ status: 404, body: { statusCode: 404, message: 'Cannot GET /' } });
      const victim = Number(/worker 1 ready in \d+ ms \(pid (\d+)\)/.exec(await app.waitForLine(/worker 1 ready in/))![1]);
      process.kill(victim, 'SIGKILL');
      await app.waitForLine(/^worker 1 exited: crashed$/); // the Watcher of worker 0
      await app.waitForLines(/worker 1 ready in/, 2); // the replacement, before the SIGTERM
    },
  );

  starts(
    'config/main.ts',
    '(docs/configuration.md clusterConfig): the app reads the explicit shutdown.timeoutMs over the env',
    { CLUSTER_SHUTDOWN_TIMEOUT_MS: '9999' },
    async ({ port }) => {
      for (let i = 0; i < 2; i += 1) expect(await get(port, '/settings')).toMatchObject({ status: 200, body: { shutdownTimeoutMs: 4321 } });
    },
  );

  const whoamiOverHttp = async ({ port, pids }: Started) => {
    const answers = await getUntil(port, '/whoami', (a) => slotsOf(a).size === 2, 'both workers');
    for (const { status, body } of answers) {
      expect(status).toBe(200);
      expect(pids()).toContain((body as Who).pid);
    }
  };
  starts('app-kinds/fastify.main.ts', '(docs/app-kinds.md, HTTP on Fastify): both workers answer', {}, whoamiOverHttp);
  starts(
    'app-kinds/fastify.main.ts',
    '(docs/app-kinds.md, HTTP on Fastify) with CLUSTER_STICKY=sid: both workers answer through the primary',
    { CLUSTER_STICKY: 'sid' },
    whoamiOverHttp,
  );

  starts(
    'app-kinds/tcp-microservice.main.ts',
    '(docs/app-kinds.md, TCP microservice): both workers reply through ClientProxy',
    {},
    async ({ port, pids }) => {
      const answers = await askUntilBothWorkers({ transport: Transport.TCP, options: { host: '127.0.0.1', port } }, 'whoami', 6);
      for (const { pid } of answers) expect(pids()).toContain(pid);
    },
  );

  const natsPattern = `recipes.whoami.${randomUUID()}`; // its own subject on the shared NATS server
  starts(
    'app-kinds/nats-microservice.main.ts',
    '(docs/app-kinds.md, NATS microservice): both workers of the queue group reply',
    { WHOAMI_PATTERN: natsPattern },
    async ({ pids }) => {
      const answers = await askUntilBothWorkers({ transport: Transport.NATS, options: { servers: [NATS_URL] } }, natsPattern, 1);
      for (const { pid } of answers) expect(pids()).toContain(pid);
    },
  );

  starts(
    'app-kinds/hybrid.main.ts',
    '(docs/app-kinds.md, hybrid app): HTTP and the connected TCP microservice answer',
    async () => ({ TCP_PORT: String(await freePort()) }),
    async (started) => {
      await whoamiOverHttp(started);
      // The microservice listens on Nest's default host, localhost.
      const answers = await askUntilBothWorkers(
        { transport: Transport.TCP, options: { host: 'localhost', port: Number(started.env.TCP_PORT) } },
        'whoami',
        6,
      );
      for (const { pid } of answers) expect(started.pids()).toContain(pid);
    },
  );

  starts('app-kinds/context.main.ts', '(docs/app-kinds.md, application context): both workers get ready and drain', {}, async ({ app }) => {
    expect(app.lines.filter((l) => /worker \d ready in \d+ ms/.test(l))).toHaveLength(2);
  });

  starts(
    'primary-events/main.ts',
    "(docs/supervision.md Primary events): the primary's decisions as JSON lines: forks, readies, cluster-ready, then the drain",
    {},
    async ({ app, port, pids }) => {
      const decided = () =>
        app.lines.flatMap((l) => (l.startsWith('{"primaryEvent":') ? [(JSON.parse(l) as { primaryEvent: ObservedEventBody }).primaryEvent] : []));
      await until(() => decided().some((e) => e.type === 'cluster-ready'), 'the cluster-ready event', 10_000);
      const events = decided();
      expect(events.filter((e) => e.type === 'fork').map((e) => e.pid)).toEqual(pids());
      expect(
        events
          .filter((e) => e.type === 'ready')
          .map((e) => e.slot)
          .sort(),
      ).toEqual([0, 1]);
      expect(events.find((e) => e.type === 'cluster-ready')).toMatchObject({ workers: 2 });
      expect((await get(port, '/whoami')).status).toBe(200);
    },
    (app) => expect(app.lines).toContain('the primary exits with code 0'),
  );

  starts(
    'standby/main.ts',
    "(docs/supervision.md Warm standby): a SIGKILLed worker's slot is taken by the standby, which answers",
    {},
    async ({ app, port, pids }) => {
      const standby = Number(/standby ready in \d+ ms \(pid (\d+)\)/.exec(await app.waitForLine(/standby ready in/, 30_000))![1]);
      const [victim] = pids();
      process.kill(victim!, 'SIGKILL');
      await app.waitForLine(new RegExp(`the standby \\(pid ${standby}\\) takes the slot`), 10_000);
      let answered: number | undefined;
      for (let tries = 0; tries < 50 && answered !== standby; tries++) answered = (await get(port, '/whoami')).body.pid;
      expect(answered).toBe(standby);
    },
  );

  starts(
    'quick-start/main.ts',
    "(README Quick start, CommonJS): the starter's route, /health, /health/ready and /health/workers",
    {},
    async ({ port }) => {
      expect(await get(port, '/')).toMatchObject({ status: 200, body: 'Hello World!' });
      expect(await get(port, '/health')).toMatchObject({
        status: 200,
        body: { status: 'ok', info: { cluster: { status: 'up', alive: 2, expected: 2 } } },
      });
      expect(await get(port, '/health/ready')).toMatchObject({ status: 200, body: { info: { traffic: { status: 'up' } } } });
      const workers = await get(port, '/health/workers');
      expect(workers).toMatchObject({ status: 200, body: { info: { workers: { status: 'up', expected: 2 } } } });
      expect(Object.keys(workers.body.info.workers.workers)).toEqual(['0', '1']);
    },
  );

  starts(
    'providers/main.ts',
    '(docs/messages.md, docs/leadership.md): messages and decorated handlers across workers; the cron job and @LeaderOnly on the leader only',
    // Each worker says whether it leads, and its SearchIndex its first leader, while it boots: every boot shown.
    { CLUSTER_BOOT_LOGS: 'all' },
    async ({ app, port }) => {
      // Each worker asks every worker's decorated handler, once it sees both in its membership.
      const seenByBoth = (answers: HttpAnswer[]) => slotsOf(answers.filter((a) => a.body.replies?.length === 2)).size === 2;
      for (const { status, body } of await getUntil(port, '/sessions', seenByBoth, 'both workers answered by both')) {
        expect(status).toBe(200);
        if (body.replies.length === 2)
          expect(body).toMatchObject({
            replies: [
              { slot: 0, data: 0 },
              { slot: 1, data: 0 },
            ],
            missing: [],
          });
      }
      for (const slot of [0, 1]) expect(await get(port, `/size/${slot}`)).toMatchObject({ status: 200, body: { size: 0 } });
      expect(await get(port, '/total')).toMatchObject({ status: 200, body: { total: 0 } });
      // publish: the other worker's @OnClusterMessage handler logs it
      const publisher = (await get(port, '/invalidate/published-key')).body.slot as number;
      await app.waitForLine(new RegExp(`^worker ${publisher} invalidated published-key$`));
      // send: to slot 1, whoever sends it
      const sender = (await get(port, '/invalidate/sent-key/on/1')).body.slot as number;
      await app.waitForLine(new RegExp(`^worker ${sender} invalidated sent-key$`));
      expect(app.lines.filter((l) => / invalidated /.test(l))).toHaveLength(2); // each once

      await app.waitForLine(/\[ClusterSchedule\] This worker leads the cluster \(epoch \d+\): started 1 cron job/);
      await app.waitForLine(/\[ClusterSchedule\] This worker does not lead the cluster: 1 cron job/);
      await app.waitForLines(/^leader: \d$/, 2); // the SearchIndex of each worker
      const answers = await getUntil(port, '/role', (a) => slotsOf(a).size === 2, 'both workers');
      const roles = answers.map((a) => a.body as { slot: number; role: string; rebuilt: string | null });
      expect(new Set(roles.filter((r) => r.role === 'leader').map((r) => r.slot)).size).toBe(1);
      for (const role of roles) expect(role.rebuilt).toBe(role.role === 'leader' ? 'rebuilt' : null);
    },
  );

  const scrapesBothWorkers = async ({ port }: Started) => {
    const scrape = await get(port, '/metrics');
    expect(scrape.status).toBe(200);
    expect(scrape.headers['content-type']).toMatch(/^text\/plain/);
    expect(scrape.body).toMatch(/^nestjs_cluster_scrape_up\{slot="0"\} 1$/m);
    expect(scrape.body).toMatch(/^nestjs_cluster_scrape_up\{slot="1"\} 1$/m);
    return scrape.body as string;
  };
  starts('metrics/main.ts', '(docs/metrics.md): /metrics shows every worker and the recipe counter', {}, async (started) => {
    const body = await scrapesBothWorkers(started);
    expect(body).toMatch(/^# TYPE orders_total counter$/m);
    expect(body).toMatch(/^process_cpu_user_seconds_total\{slot="1"\} /m);
  });
  starts(
    'metrics-prometheus/main.ts',
    '(docs/metrics.md with @willsoto/nestjs-prometheus): its /metrics answers for every worker',
    {},
    scrapesBothWorkers,
  );

  starts('websockets/main.ts', '(docs/websockets.md): clients on both workers, a shout reaches each once', {}, async ({ port }) => {
    const clients: Socket[] = [];
    try {
      // The sticky primary hands handshakes to the ready workers in turn: two clients, two workers.
      clients.push(await connectClient(port), await connectClient(port));
      expect(new Set(clients.map((c) => c.io.engine.id.split('.')[0]))).toEqual(new Set(['0', '1']));
      const heard = clients.map((c) => {
        const texts: string[] = [];
        c.on('shout', (text: string) => texts.push(text));
        return texts;
      });
      const everyoneHeard = (text: string) => until(() => heard.every((texts) => texts.includes(text)), `every client to hear "${text}"`, 10_000);
      clients[0]!.emit('shout', 'from the first worker');
      await everyoneHeard('from the first worker');
      clients[1]!.emit('shout', 'from the second worker');
      await everyoneHeard('from the second worker');
      expect(heard).toEqual([
        ['from the first worker', 'from the second worker'],
        ['from the first worker', 'from the second worker'],
      ]);
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('every main.ts under test/recipes/ is started above', () => {
    const mains = recipeFiles()
      .map((f) => relative('test/recipes', f.path))
      .filter((p) => /(^|[/.])main\.ts$/.test(p))
      .sort();
    expect([...started].sort()).toEqual(mains);
  });
});
