/**
 * `nestjs-cluster/schedule` in a real cluster of 4 workers on one node: every worker declares the same
 * `@Cron('* * * * * *')` job, which appends the second it ran for to a file; the file shows that each
 * second ran on one worker, the leader, and what happens when leadership moves (SIGKILL of the leader,
 * a rolling restart).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterProcess, freePort, get, type ObservedEventBody } from './helpers/cluster-process.js';
import { pollUntil } from './helpers/messaging-cluster.js';

const SCHEDULE_APP = fileURLToPath(new URL('./fixtures/dist/schedule-app.js', import.meta.url));

interface Leader {
  node: string;
  slot: number;
  pid: number;
  epoch: number;
}

/** A line of the tick file: the second the cron job ran for, the worker and the epoch it ran under. */
interface Tick {
  second: number;
  pid: number;
  epoch: number;
}

interface LeaderEventBody extends ObservedEventBody {
  type: 'leader';
  leader: Leader | null;
  previous: Leader | null;
  reason: string;
  at: number;
}

let app: ClusterProcess | undefined;
let dir: string;
let tickFile: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ncl-schedule-'));
  tickFile = join(dir, 'ticks.jsonl');
});

afterEach(() => {
  app?.killGroup();
  app = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** The fixture with `workers` workers, once they are all ready and one of them was appointed leader. */
async function startCluster(workers: number): Promise<{ port: number; leader: Leader }> {
  const port = await freePort();
  app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: String(workers), FIXTURE_TICK_FILE: tickFile }, SCHEDULE_APP);
  await app.waitForReady(workers);
  const appointed = await leaderEvent((e) => e.reason === 'appointed', 'a leader');
  return { port, leader: appointed.leader! };
}

/** The first `leader` event (past or future) a worker saw that `match` accepts. */
function leaderEvent(match: (event: LeaderEventBody) => boolean, what: string, timeoutMs = 30_000): Promise<LeaderEventBody> {
  return app!.waitForEvent((event) => event.type === 'leader' && match(event as LeaderEventBody), what, timeoutMs) as Promise<LeaderEventBody>;
}

/** Every `appointed` event, once each (each worker prints the events it sees). */
function appointments(): LeaderEventBody[] {
  const seen = new Map<number, LeaderEventBody>();
  for (const { event } of app!.events()) {
    const e = event as LeaderEventBody;
    if (e.type === 'leader' && e.reason === 'appointed' && e.leader) seen.set(e.leader.epoch, e);
  }
  return [...seen.values()].sort((a, b) => a.leader!.epoch - b.leader!.epoch);
}

/** The lines of the tick file so far. */
function ticks(): Tick[] {
  let text = '';
  try {
    text = readFileSync(tickFile, 'utf8');
  } catch {
    // nothing written yet
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Tick);
}

const describeTicks = (list: readonly Tick[]) => list.map((t) => `${t.second} pid ${t.pid} epoch ${t.epoch}`).join('\n');

/** Resolves with the ticks once `check` holds for them. */
async function ticksUntil(check: (list: Tick[]) => boolean, what: string, timeoutMs: number): Promise<Tick[]> {
  await pollUntil(async () => check(ticks()), `${what}; ticks so far:\n${describeTicks(ticks())}`, timeoutMs);
  return ticks();
}

/** Seconds that appear more than once. */
function doubled(list: readonly Tick[]): number[] {
  const seen = new Set<number>();
  return list.filter((t) => (seen.has(t.second) ? true : (seen.add(t.second), false))).map((t) => t.second);
}

/** Seconds missing between the first and the last tick of `list`. */
function missing(list: readonly Tick[]): number[] {
  const seconds = new Set(list.map((t) => t.second));
  const [first, last] = [Math.min(...seconds), Math.max(...seconds)];
  const gaps: number[] = [];
  for (let s = first; s <= last; s++) if (!seconds.has(s)) gaps.push(s);
  return gaps;
}

describe('@Cron, @Timeout and @LeaderOnly() in a cluster of 4 workers', () => {
  it('runs each second of a @Cron job once, on the leader, for 20 s; a @Timeout runs once, there too', async () => {
    const { leader } = await startCluster(4);
    const list = await ticksUntil((l) => l.length > 0 && l.at(-1)!.second - l[0]!.second >= 20, '20 s of ticks', 40_000);
    expect(doubled(list)).toEqual([]);
    expect(missing(list)).toEqual([]);
    expect(new Set(list.map((t) => t.pid))).toEqual(new Set([leader.pid]));
    expect(appointments()).toHaveLength(1);

    const timeouts = app!.lines.filter((l) => l.startsWith('TIMEOUT '));
    expect(timeouts).toEqual([`TIMEOUT ${leader.pid}`]);
  });

  it('moves the job to a new leader when the leader is SIGKILLed: at most one second missed, none twice', async () => {
    const { leader } = await startCluster(4);
    await ticksUntil((l) => l.length >= 3, 'the first ticks', 20_000);
    process.kill(leader.pid, 'SIGKILL');
    const next = await leaderEvent((e) => e.reason === 'appointed' && e.previous?.pid === leader.pid, 'a new leader');
    expect(next.leader!.pid).not.toBe(leader.pid);
    const list = await ticksUntil((l) => l.filter((t) => t.pid === next.leader!.pid).length >= 5, '5 ticks of the new leader', 30_000);
    console.log(`leader SIGKILLed: missing seconds ${JSON.stringify(missing(list))}\n${describeTicks(list)}`);
    expect(doubled(list)).toEqual([]);
    expect(missing(list).length).toBeLessThanOrEqual(1);
    // The old leader's seconds, then the new one's: never interleaved.
    const firstOfNext = list.findIndex((t) => t.pid === next.leader!.pid);
    expect(list.slice(0, firstOfNext).every((t) => t.pid === leader.pid)).toBe(true);
    expect(list.slice(firstOfNext).every((t) => t.pid === next.leader!.pid && t.epoch === next.leader!.epoch)).toBe(true);
  });

  it('runs no second twice through a rolling restart (SIGHUP)', async () => {
    const { leader } = await startCluster(4);
    await ticksUntil((l) => l.length >= 2, 'the first ticks', 20_000);
    app!.signal('SIGHUP');
    await app!.waitForEvent((e) => e.type === 'rolling-restart' && e.phase === 'done', 'the rolling restart', 90_000);
    const newLeader = appointments().at(-1)!.leader!;
    expect(newLeader.pid).not.toBe(leader.pid);
    const list = await ticksUntil((l) => l.filter((t) => t.pid === newLeader.pid).length >= 3, '3 ticks of the new leader', 30_000);
    const moves = appointments().length - 1;
    console.log(`rolling restart: ${moves} move(s) of leadership, missing seconds ${JSON.stringify(missing(list))}\n${describeTicks(list)}`);
    expect(doubled(list)).toEqual([]);
    expect(missing(list).length).toBeLessThanOrEqual(moves);
    // Each worker ran its seconds under its own epoch, one leader after the other.
    const runs = list.filter((t, i) => i === 0 || t.pid !== list[i - 1]!.pid).map((t) => t.epoch);
    expect(runs).toEqual([...new Set(runs)].sort((a, b) => a - b));
  });

  it('runs a @LeaderOnly() method that every worker calls once, on the leader', async () => {
    const { port, leader } = await startCluster(4);
    for (const tag of ['a', 'b', 'c']) {
      const { body } = await get(port, `/once?tag=${tag}`);
      expect((body as { workers: number }).workers).toBe(4);
    }
    const ran = app!.lines.filter((l) => l.startsWith('ONCE ')).map((l) => JSON.parse(l.slice(5)) as { tag: string; pid: number });
    expect(ran).toEqual(['a', 'b', 'c'].map((tag) => ({ tag, pid: leader.pid })));
  });
});
