/**
 * Warm standby (`standby: 1`): a worker SIGKILLed under a stream of new connections has its slot taken
 * by the standby at once. With the library's own listen and `distribution: 'primary'` the standby
 * listens already (the primary deals it nothing until then), so the first answer from the standby's pid
 * comes within a few event-loop turns; with a `listen` hook it listens once promoted. Each kill waits
 * for the refill (a new standby reported ready by the primary) before the next. Meanwhile a standby is
 * never in `workers()`, never hears a published message and never leads. Then a SIGKILL on each other
 * app kind, with its refill: a TCP microservice (asked with Nest's own client), express with sticky `'ip'`, Fastify with
 * sticky `'sid'` and socket.io clients, and one node of two on a redis-server of the test's own.
 *
 * STANDBY_KILLS: SIGKILLs of the HTTP test (default 10: each waits for a standby to boot, 1 to 4 s on a
 * shared 2-core machine). STANDBY_KIND_KILLS: of each other kind (default 1).
 */
import { jest } from '@jest/globals';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'socket.io-client';
import { firstValueFrom } from 'rxjs';
import { ClusterProcess, freePort, get, until, type ObservedEventBody } from './helpers/cluster-process.js';
import { httpProbe, loops, tcpProbe } from './helpers/connection-probes.js';
import { pollUntil } from './helpers/messaging-cluster.js';
import { RedisServer } from './helpers/redis-server.js';
import { connectClient, upgraded, whoami as ioWhoami } from './helpers/socket-clients.js';

const KILLS = Number(process.env.STANDBY_KILLS ?? 10);
/**
 * SIGKILL to the standby's first answer, median of the kills: a bound that tells a standby's takeover (tens
 * of ms) from a restart (a Nest boot: over a second) on a busy machine. The 150 ms target is the
 * benchmark's (`npm run bench -- --only availability`).
 */
const TAKEOVER_MS = 500;
const MICROSERVICE_APP = fileURLToPath(new URL('./fixtures/dist/microservice-app.js', import.meta.url));

jest.setTimeout(120_000);

/** A SIGKILL every few seconds is the test, not a crash loop. */
const ENV = { CLUSTER_WORKERS: '2', CLUSTER_STANDBY: '1', CLUSTER_MAX_RESTARTS: '1000000' };
/** Loops opening one new connection after another. */
const STREAM_LOOPS = 2;

/** An answer of the stream: who answered, and when (`performance.now()`). */
type Answer = (pid: number, at: number) => void;

/** Resolves with the time of the first answer (past or future) from `pid`. */
class Answers {
  private readonly seen = new Map<number, number>();
  private readonly waiting = new Map<number, (at: number) => void>();

  readonly add: Answer = (pid, at) => {
    if (!this.seen.has(pid)) this.seen.set(pid, at);
    this.waiting.get(pid)?.(at);
    this.waiting.delete(pid);
  };

  firstFrom(pid: number, timeoutMs: number): Promise<number> {
    const at = this.seen.get(pid);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from pid ${pid} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(pid, (answeredAt) => {
        clearTimeout(timer);
        resolve(answeredAt);
      });
    });
  }
}

/** The primary's `standby` events of `phase`, from `since` on. */
function standbyEvents(app: ClusterProcess, phase: 'ready' | 'promoted', since = 0): ObservedEventBody[] {
  return app
    .primaryEvents()
    .slice(since)
    .filter((e) => e.type === 'standby' && e.phase === phase);
}

/**
 * Waits for a standby the primary reports ready that is none of `known`; resolves with its pid. Up to a
 * minute: a Nest boot beside the suites running in parallel on a 2-core machine has taken 12 s and more.
 */
async function nextStandby(app: ClusterProcess, known: ReadonlySet<number>, what: string): Promise<number> {
  const event = await app.waitForPrimaryEvent((e) => e.type === 'standby' && e.phase === 'ready' && !known.has(e.pid!), what, 60_000);
  return event.pid!;
}

/** What the fixtures answer on GET / and to `whoami`. */
interface Who {
  pid: number;
  slot: number;
}

/** Asks again (a new connection each time, dealt round robin) until `pid` answers. */
async function answerFrom(pid: number, ask: () => Promise<Who>): Promise<Who> {
  for (let tries = 0; tries < 50; tries++) {
    const who = await ask();
    if (who.pid === pid) return who;
  }
  throw new Error(`pid ${pid} did not answer in 50 tries`);
}

/** `whoami` of the TCP fixture, asked with Nest's own client on a new connection. */
async function whoami(port: number): Promise<Who> {
  const client: ClientProxy = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
  try {
    return await firstValueFrom(client.send<Who>('whoami', {}));
  } finally {
    client.close();
  }
}

/** The latest ready worker of each slot 0..count-1, once every one has had one (from the primary's events). */
function primaryReady(app: ClusterProcess, count: number): Promise<Array<{ slot: number; pid: number }>> {
  return app.waitForPrimaryEvents(
    (events) => {
      const bySlot = new Map<number, number>();
      for (const e of events) if (e.type === 'ready' && e.slot! < count) bySlot.set(e.slot!, e.pid!);
      return bySlot.size === count ? [...bySlot].map(([slot, pid]) => ({ slot, pid })) : undefined;
    },
    `${count} ready worker(s)`,
    60_000,
  );
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

describe('warm standby, an HTTP app (express), 2 workers and 1 standby', () => {
  it(`takes over a SIGKILLed worker's slot in under ${TAKEOVER_MS} ms (median of ${KILLS}), refilled each time, never serving, hearing or leading before`, async () => {
    const port = await freePort();
    // No EVENT line from every worker for every event: the takeover's figure is the library's, not the fixture's logging.
    const app = ClusterProcess.start({ PORT: String(port), FIXTURE_LISTEN: 'default', FIXTURE_EVENTS: 'off', ...ENV });
    const answers = new Answers();
    const stream = loops(STREAM_LOOPS, async () => {
      const { outcome, pid } = await httpProbe(port, false);
      if (outcome === 'answered') answers.add(pid!, performance.now());
      // Nobody listens yet (before the first worker is ready): try again a little later.
      else await new Promise((resolve) => setTimeout(resolve, 20));
    });
    try {
      const serving = new Map((await primaryReady(app, 2)).map((w) => [w.slot, w.pid]));
      const standbys = new Set<number>();
      let standby = await nextStandby(app, standbys, 'the first standby');
      standbys.add(standby);
      const takeovers: number[] = [];
      /** The standby at the time of each publish, by tag. */
      const published = new Map<string, number>();

      for (let k = 0; k < KILLS; k++) {
        // While it stands by: not in workers(), and deaf to a publish (the serving workers hear it).
        const { body } = await get(port, '/workers');
        const listed = (body as { workers: Array<{ pid: number; slot: number; state: string }> }).workers;
        expect(listed.map((w) => w.pid)).not.toContain(standby);
        expect(listed.map((w) => w.slot).sort()).toEqual([0, 1]);
        const tag = `t${k}`;
        published.set(tag, standby);
        await get(port, `/publish?tag=${tag}`);
        await app.waitForLines(new RegExp(`^HEARD \\{"tag":"${tag}"`), 2);

        const slot = k % 2;
        const victim = serving.get(slot)!;
        const seen = app.primaryEvents().length;
        const killedAt = performance.now();
        process.kill(victim, 'SIGKILL');
        const answeredAt = await answers.firstFrom(standby, 10_000);
        takeovers.push(answeredAt - killedAt);
        const promoted = standbyEvents(app, 'promoted', seen);
        expect(promoted).toEqual([expect.objectContaining({ pid: standby, slot })]);
        // It presents its slot, not the standby's -1.
        expect(await answerFrom(standby, () => get(port, '/').then((r) => r.body as Who))).toEqual(expect.objectContaining({ slot }));
        serving.set(slot, standby);
        // The refill: a new standby, booted behind the promoted one.
        standby = await nextStandby(app, standbys, `a new standby after SIGKILL ${k + 1}`);
        standbys.add(standby);
      }
      await stream.stop();
      console.log(`standby takeover, SIGKILL to the standby's first answer, ms: ${takeovers.map((ms) => ms.toFixed(0)).join(' ')}`);
      expect(median(takeovers)).toBeLessThan(TAKEOVER_MS);
      expect(standbys.size).toBe(KILLS + 1);

      // A published message reached no standby: each HEARD line came from a serving worker.
      const heard = app.lines.filter((l) => l.startsWith('HEARD ')).map((l) => JSON.parse(l.slice(6)) as { tag: string; pid: number });
      for (const { tag, pid } of heard) expect(published.get(tag)).not.toBe(pid);
      // No leader was ever a worker still standing by: each leader took its slot before it led.
      const events = app.primaryEvents();
      events.forEach((event, at) => {
        const leader = event.type === 'leader' ? (event.leader as { pid: number; slot: number } | null) : null;
        if (!leader) return;
        expect(leader.slot).toBeGreaterThanOrEqual(0);
        const promotedAt = events.findIndex((e) => e.type === 'standby' && e.phase === 'promoted' && e.pid === leader.pid);
        expect(promotedAt).toBeLessThan(at); // -1: a worker that never was a standby
      });
      // Every exit was a crash the primary counted (restarts shown on the slots), none expected.
      const exits = events.filter((e) => e.type === 'exit' && e.signal === 'SIGKILL');
      expect(exits).toHaveLength(KILLS);
      expect(exits.every((e) => e.expected === false && e.reason === 'crashed')).toBe(true);
      expect(events.filter((e) => e.type === 'restart-scheduled')).toEqual([]);
    } finally {
      await stream.stop();
      await app.stop();
    }
  });
});

/** A cluster of one app kind under test: `app` is the node whose workers are SIGKILLed. */
interface Served {
  readonly app: ClusterProcess;
  /** One request on a new connection by stream loop `loop` (0 or 1): who answered, `undefined` if none did. */
  ask(loop: number): Promise<(Partial<Who> & { pid: number }) | undefined>;
  /** Checked while `standby` stands by, before each SIGKILL. */
  standingBy?(standby: number): Promise<void>;
  /** Checked once `standby` has taken `slot` and answered. */
  tookOver?(standby: number, slot: number): Promise<void>;
  /** Leader events of every node (`app`'s and the others'). */
  leaderEvents(): ObservedEventBody[];
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const WS_APP = fileURLToPath(new URL('./fixtures/dist/ws-app.js', import.meta.url));
/**
 * SIGKILLs of each app kind below (`slot` 0, then 1, ...): one, whose refill is awaited; the HTTP test
 * above kills ten times in a row. `STANDBY_KIND_KILLS` asks for more.
 */
const KIND_KILLS = Number(process.env.STANDBY_KIND_KILLS ?? 1);
/** SIGKILL to the standby's first answer, for each kill of the kinds below (the median target is the HTTP test's). */
const KIND_TAKEOVER_MS = 1_000;

/** GET `path` on a new connection from `localAddress`; the parsed answer, `undefined` if there was none. */
function getFrom(port: number, localAddress = '127.0.0.1', path = '/'): Promise<(Who & { workers?: unknown }) | undefined> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, localAddress, agent: false, timeout: 2_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? (JSON.parse(text) as Who) : undefined);
        } catch {
          resolve(undefined);
        }
      });
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** `workers` of `app` ready (and `line` printed, if given); killed at once if it never gets there (nothing else holds it then). */
async function started(app: ClusterProcess, workers: number, line?: RegExp): Promise<void> {
  try {
    await app.waitForReady(workers);
    if (line) await app.waitForLine(line);
  } catch (error) {
    app.killGroup();
    throw error;
  }
}

const leaders = (app: ClusterProcess) => app.primaryEvents().filter((e) => e.type === 'leader');

const KINDS: Array<{ name: string; start(): Promise<Served> }> = [
  {
    name: "a TCP microservice, asked with Nest's own client",
    async start() {
      const port = await freePort();
      const app = ClusterProcess.start({ FIXTURE_KIND: 'tcp', PORT: String(port), ...ENV }, MICROSERVICE_APP);
      await started(app, 2);
      return {
        app,
        ask: async () => {
          const { outcome, pid } = await tcpProbe(port).result;
          return outcome === 'answered' ? { pid: pid! } : undefined;
        },
        // It answers as the slot it took, to Nest's own client.
        tookOver: async (standby, slot) => expect(await answerFrom(standby, () => whoami(port))).toEqual({ pid: standby, slot }),
        leaderEvents: () => leaders(app),
        stop: () => app.stop(),
      };
    },
  },
  {
    name: "an HTTP app (express) with sticky sessions by client address ('ip')",
    async start() {
      const port = await freePort();
      const app = ClusterProcess.start({ PORT: String(port), CLUSTER_STICKY: 'ip', ...ENV }, WS_APP);
      await started(app, 2, /the primary listens on port/);
      // A client address of each slot: loop `slot` of the stream asks from it.
      const addressOf = new Map<number, string>();
      for (let i = 1; addressOf.size < 2; i++) {
        if (i > 64) {
          app.killGroup();
          throw new Error('no client address for each slot in 127.0.0.1-64');
        }
        const who = await getFrom(port, `127.0.0.${i}`);
        if (who && !addressOf.has(who.slot)) addressOf.set(who.slot, `127.0.0.${i}`);
      }
      return {
        app,
        ask: (loop) => getFrom(port, addressOf.get(loop)),
        tookOver: async (standby, slot) => {
          // The address of the slot sticks to the standby that took it; the other one keeps its worker.
          const again = await Promise.all(Array.from({ length: 4 }, () => getFrom(port, addressOf.get(slot))));
          expect(again).toEqual(Array.from({ length: 4 }, () => ({ pid: standby, slot })));
          const other = await Promise.all(Array.from({ length: 2 }, () => getFrom(port, addressOf.get(1 - slot))));
          expect(other.map((w) => w?.slot)).toEqual([1 - slot, 1 - slot]);
        },
        leaderEvents: () => leaders(app),
        stop: () => app.stop(),
      };
    },
  },
  {
    name: "an HTTP app on Fastify with sticky sessions by session id ('sid') and socket.io clients",
    async start() {
      const port = await freePort();
      const app = ClusterProcess.start({ PORT: String(port), CLUSTER_STICKY: 'sid', FIXTURE_PLATFORM: 'fastify', ...ENV }, WS_APP);
      await started(app, 2, /the primary listens on port/);
      const clients: Socket[] = [];
      /** socket.io clients by the slot holding their session, reconnecting on their own. */
      const bySlot = new Map<number, { client: Socket; pid: number; session: string; drops: number }>();
      return {
        app,
        ask: () => getFrom(port),
        standingBy: async () => {
          for (const client of clients.splice(0)) client.close();
          bySlot.clear();
          // Handshakes are dealt in turn: a client on each slot.
          while (bySlot.size < 2) {
            const client = await connectClient(port, { reconnection: true });
            clients.push(client);
            await upgraded(client);
            const { pid, slot } = await ioWhoami(client);
            if (bySlot.has(slot)) {
              client.close();
              continue;
            }
            const held = { client, pid, session: client.id!, drops: 0 };
            client.on('disconnect', () => (held.drops += 1));
            bySlot.set(slot, held);
          }
        },
        tookOver: async (standby, slot) => {
          expect(await answerFrom(standby, () => getFrom(port).then((w) => w ?? { pid: 0, slot: -2 }))).toEqual({ pid: standby, slot });
          // The client of the killed worker connects again, to a serving worker, in a new session; the other one kept its own.
          const orphan = bySlot.get(slot)!;
          const kept = bySlot.get(1 - slot)!;
          await until(() => orphan.drops === 1 && orphan.client.connected, 'the client of the killed worker to connect again', 10_000);
          expect([standby, kept.pid]).toContain((await ioWhoami(orphan.client)).pid);
          expect(orphan.client.id).not.toBe(orphan.session);
          expect(await ioWhoami(kept.client)).toEqual({ pid: kept.pid, slot: 1 - slot });
          expect({ session: kept.client.id, drops: kept.drops }).toEqual({ session: kept.session, drops: 0 });
        },
        leaderEvents: () => leaders(app),
        stop: async () => {
          for (const client of clients.splice(0)) client.close();
          await app.stop();
        },
      };
    },
  },
  {
    name: 'an HTTP app (express) of one node of two, on a redis-server of its own',
    async start() {
      const redis = await RedisServer.start();
      const [port, otherPort] = await Promise.all([freePort(), freePort()]);
      const link = { CLUSTER_REDIS_URL: redis.url, FIXTURE_LISTEN: 'default' };
      const app = ClusterProcess.start({ PORT: String(port), CLUSTER_NODE_ID: 'node-a', ...link, ...ENV });
      // The other node only watches: one worker is enough, and one boot less.
      const other = ClusterProcess.start({ PORT: String(otherPort), CLUSTER_NODE_ID: 'node-b', CLUSTER_WORKERS: '1', ...link });
      // A node that never got ready must not leave the other one, or Redis, behind.
      await Promise.all([started(app, 2), started(other, 1)]).catch(async (error: unknown) => {
        app.killGroup();
        other.killGroup();
        await redis.kill();
        throw error;
      });
      /** `workers()` as the other node's worker answering sees the cluster. */
      const otherWorkers = async () =>
        ((await get(otherPort, '/workers')).body as { workers: Array<{ node: string; pid: number; slot: number; state: string }> }).workers;
      return {
        app,
        ask: () => getFrom(port),
        standingBy: async (standby) => {
          // The other node lists node-a's two serving workers, not its standby.
          await pollUntil(
            async () => (await otherWorkers()).filter((w) => w.node === 'node-a' && w.state === 'ready').length === 2,
            'node-b to list node-a ready',
          );
          const listed = await otherWorkers();
          expect(
            listed
              .filter((w) => w.node === 'node-a')
              .map((w) => w.slot)
              .sort(),
          ).toEqual([0, 1]);
          expect(listed.map((w) => w.pid)).not.toContain(standby);
        },
        tookOver: async (standby, slot) => {
          // The other node's workers hear of the promotion, and list the standby in its slot.
          await other.waitForEvent(
            (e) => e.type === 'standby' && e.phase === 'promoted' && e.pid === standby && e.node === 'node-a',
            'node-b to hear of the promotion',
            10_000,
          );
          await pollUntil(async () => (await otherWorkers()).some((w) => w.pid === standby), 'node-b to list the standby');
          expect((await otherWorkers()).filter((w) => w.pid === standby)).toEqual([expect.objectContaining({ node: 'node-a', slot })]);
        },
        leaderEvents: () => [...leaders(app), ...leaders(other)],
        stop: async () => {
          await Promise.all([app.stop(), other.stop()]);
          await redis.kill();
        },
      };
    },
  },
];

describe.each(KINDS)('warm standby, $name, 2 workers and 1 standby', (kind) => {
  it(`answers from the standby in the slot of a SIGKILLed worker within ${KIND_TAKEOVER_MS} ms, ${KIND_KILLS} times, refilled each time, never leading before`, async () => {
    const served = await kind.start();
    const { app } = served;
    const answers = new Answers();
    const stream = loops(2, async (loop) => {
      const who = await served.ask(loop);
      if (who) answers.add(who.pid, performance.now());
      // Nobody answers for the moment: try again a little later.
      else await sleep(20);
    });
    try {
      const serving = new Map((await primaryReady(app, 2)).map((w) => [w.slot, w.pid]));
      const standbys = new Set<number>();
      let standby = await nextStandby(app, standbys, 'the first standby');
      standbys.add(standby);
      const takeovers: number[] = [];
      for (let k = 0; k < KIND_KILLS; k++) {
        await served.standingBy?.(standby);
        const slot = k % 2;
        const seen = app.primaryEvents().length;
        const killedAt = performance.now();
        process.kill(serving.get(slot)!, 'SIGKILL');
        takeovers.push((await answers.firstFrom(standby, 10_000)) - killedAt);
        expect(standbyEvents(app, 'promoted', seen)).toEqual([expect.objectContaining({ pid: standby, slot })]);
        // The workers' own event stream: the promotion, then the standby ready in its slot.
        await app.waitForEvent(
          (e) => e.type === 'standby' && e.phase === 'promoted' && e.pid === standby && e.slot === slot,
          'the promotion, as a worker saw it',
        );
        await app.waitForEvent(
          (e) => e.type === 'ready' && e.pid === standby && e.slot === slot,
          'the standby ready in its slot, as a worker saw it',
        );
        await served.tookOver?.(standby, slot);
        serving.set(slot, standby);
        // The refill: a new standby, booted behind the promoted one.
        standby = await nextStandby(app, standbys, `a new standby after SIGKILL ${k + 1}`);
        standbys.add(standby);
      }
      await stream.stop();
      console.log(`${kind.name}: SIGKILL to the standby's first answer, ms: ${takeovers.map((ms) => ms.toFixed(0)).join(' ')}`);
      for (const ms of takeovers) expect(ms).toBeLessThan(KIND_TAKEOVER_MS);
      expect(standbys.size).toBe(KIND_KILLS + 1);

      const events = app.primaryEvents();
      // Each SIGKILL was a crash the standby answered: no restart waited for its backoff.
      const exits = events.filter((e) => e.type === 'exit' && e.signal === 'SIGKILL');
      expect(exits).toEqual(Array.from({ length: KIND_KILLS }, () => expect.objectContaining({ expected: false, reason: 'crashed' })));
      expect(events.filter((e) => e.type === 'restart-scheduled')).toEqual([]);
      // No node ever named a leader still standing by: each standby that led was promoted before.
      const promotedAt = new Map(standbyEvents(app, 'promoted').map((e) => [e.pid!, e.at as number]));
      for (const event of served.leaderEvents()) {
        const leader = event.leader as { pid: number; slot: number } | null;
        if (!leader || !standbys.has(leader.pid)) continue;
        expect({ leader: leader.pid, promotedBefore: (promotedAt.get(leader.pid) ?? Infinity) <= (event.at as number) }).toEqual({
          leader: leader.pid,
          promotedBefore: true,
        });
      }
    } finally {
      await stream.stop();
      await served.stop();
    }
  });
});

describe('warm standby with a listen hook, which it runs once promoted', () => {
  it('listens when it takes the slot, and answers as that slot', async () => {
    const port = await freePort();
    const app = ClusterProcess.start({ PORT: String(port), ...ENV });
    const answers = new Answers();
    const stream = loops(2, async () => {
      const { outcome, pid } = await httpProbe(port, false);
      if (outcome === 'answered') answers.add(pid!, performance.now());
      else await new Promise((resolve) => setTimeout(resolve, 20));
    });
    try {
      const [first] = await app.waitForReady(2);
      const standby = await nextStandby(app, new Set(), 'the standby');
      // Its listen waits: the primary saw no server of it listen.
      expect(app.primaryEvents().filter((e) => e.type === 'listening' && e.pid === standby)).toEqual([]);
      const killedAt = performance.now();
      process.kill(first!.pid, 'SIGKILL');
      const answeredAt = await answers.firstFrom(standby, 10_000);
      console.log(`with a listen hook: SIGKILL to the standby's first answer ${(answeredAt - killedAt).toFixed(0)} ms`);
      expect(await answerFrom(standby, () => get(port, '/').then((r) => r.body as Who))).toEqual(expect.objectContaining({ slot: 0 }));
      const ready = await app.waitForPrimaryEvent((e) => e.type === 'ready' && e.pid === standby, 'the standby ready');
      expect(ready.slot).toBe(0);
      await nextStandby(app, new Set([standby]), 'the next standby');
    } finally {
      await stream.stop();
      await app.stop();
    }
  });
});
