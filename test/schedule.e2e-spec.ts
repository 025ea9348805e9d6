/**
 * `nestjs-cluster/schedule` in a real cluster of 4 workers on one node: every worker declares the same
 * `@Cron('* * * * * *')` job, which appends the second it ran for to a file; the file shows that each
 * second ran on one worker, the leader, and what happens when leadership moves (SIGKILL of the leader,
 * a rolling restart).
 */
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterProcess, freePort, type ObservedEventBody } from './helpers/cluster-process.js';
import { describeTicks, doubled, missing, ticksUntil as ticksOfFileUntil, type Tick } from './helpers/tick-file.js';

// Each case boots 4 workers (up to a minute on a busy machine), then watches ticks for up to 40 s.
jest.setTimeout(120_000);

const ticksUntil = (check: (list: Tick[]) => boolean, what: string, timeoutMs: number) => ticksOfFileUntil(tickFile, check, what, timeoutMs);
const SCHEDULE_APP = fileURLToPath(new URL('./fixtures/dist/schedule-app.js', import.meta.url));

interface Leader {
  node: string;
  slot: number;
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

describe('@Cron and @Timeout in a cluster of 4 workers', () => {
  it('runs each second of a @Cron job once, on the leader, for 10 s; a @Timeout runs once, there too', async () => {
    const { leader } = await startCluster(4);
    const list = await ticksUntil((l) => l.length > 0 && l.at(-1)!.second - l[0]!.second >= 10, '10 s of ticks', 30_000);
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
});
