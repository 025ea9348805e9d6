/**
 * One leader for the whole cluster, on one node: the primary appoints the lowest ready slot, keeps it
 * until that worker exits or drains, and moves it at once; `@LeaderOnly()` runs on that worker alone.
 */
import { jest } from '@jest/globals';
import { ClusterProcess, freePort, get, type ObservedEventBody } from './helpers/cluster-process.js';

// Each case boots real clusters, on a machine that may be busy: slow, but never stuck.
jest.setTimeout(120_000);

interface LeaderAnswer {
  pid: number;
  leader: { node: string; slot: number; pid: number; epoch: number } | null;
  isLeader: boolean;
}

async function startCluster(workers: number) {
  const port = await freePort();
  const app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: String(workers) });
  // A cluster that never got ready must not outlive the case: nothing else holds it to kill it.
  await app.waitForReady(workers).catch((error: unknown) => {
    app.killGroup();
    throw error;
  });
  return { app, port };
}

/** Asks `/leader` until every one of `workers` live workers has answered; their answers by pid. */
async function askEveryWorker(port: number, workers: number, until: (answers: Map<number, LeaderAnswer>) => boolean = () => true) {
  let answers = new Map<number, LeaderAnswer>();
  for (let attempt = 0; attempt < 2_000; attempt += 1) {
    const { body } = await get(port, '/leader');
    const answer = body as LeaderAnswer;
    answers.set(answer.pid, answer);
    if (answers.size >= workers && until(answers)) return answers;
    // A worker may answer before the latest snapshot reached it: ask again.
    if (answers.size >= workers) answers = new Map();
  }
  throw new Error(`not every worker answered /leader as expected: ${JSON.stringify([...answers.values()])}`);
}

/** Leader events as the primary emitted them (each worker prints what it saw: one copy each). */
function leaderEvents(app: ClusterProcess): ObservedEventBody[] {
  const seen = new Map<string, ObservedEventBody>();
  for (const { event } of app.events()) {
    if (event.type === 'leader') seen.set(`${event.at}:${event.reason}:${JSON.stringify(event.leader)}`, event);
  }
  return [...seen.values()].sort((a, b) => Number(a.at) - Number(b.at));
}

const leaderPid = (event: ObservedEventBody) => (event.leader as { pid: number } | null)?.pid;

describe('leadership on one node', () => {
  let app: ClusterProcess | undefined;

  afterEach(() => {
    app?.killGroup();
    app = undefined;
  });

  describe('a cluster of 4 workers, left as it booted (shared by these cases, which change nothing)', () => {
    let shared: { app: ClusterProcess; port: number };
    let leader: { node: string; slot: number; pid: number; epoch: number };

    beforeAll(async () => {
      shared = await startCluster(4);
      const answers = await askEveryWorker(shared.port, 4, (all) => [...all.values()].every((a) => a.leader !== null));
      leader = [...answers.values()][0]!.leader!;
    });

    afterAll(() => shared?.app.killGroup());

    it('appoints one leader that every worker agrees on', async () => {
      const answers = await askEveryWorker(shared.port, 4, (all) => [...all.values()].every((a) => a.leader !== null));
      const leaders = new Set([...answers.values()].map((a) => JSON.stringify(a.leader)));
      expect(leaders.size).toBe(1);
      const agreed = [...answers.values()][0]!.leader!;
      expect(agreed).toEqual(leader);
      expect([...answers.values()].filter((a) => a.isLeader).map((a) => a.pid)).toEqual([agreed.pid]);
      expect(agreed.epoch).toBe(1);
    });

    it('runs a @LeaderOnly() method called on every worker once', async () => {
      // Each answer comes once every worker has handled the call, and says who ran it (the workers' own
      // count, not their output, which may reach the test after the answer). Tags of this case only.
      for (const tag of ['a', 'b', 'c']) {
        const { body } = await get(shared.port, `/once?tag=${tag}`, 30_000);
        expect(body).toMatchObject({ workers: 4, ran: { [leader.pid]: 1 } });
        expect(Object.keys(body.ran)).toEqual([String(leader.pid)]);
      }
    });
  });

  it('appoints a new leader within 100 ms of the primary seeing the leader exit', async () => {
    const started = await startCluster(4);
    app = started.app;
    const answers = await askEveryWorker(started.port, 4, (all) => [...all.values()].every((a) => a.leader !== null));
    const old = [...answers.values()][0]!.leader!;
    process.kill(old.pid, 'SIGKILL');
    const exit = await app.waitForEvent((e) => e.type === 'exit' && e.pid === old.pid, 'the leader to exit');
    const appointed = await app.waitForEvent(
      (e) => e.type === 'leader' && e.reason === 'appointed' && (e.previous as { pid: number } | null)?.pid === old.pid,
      'a new leader',
    );
    const tookMs = Number(appointed.at) - Number(exit.at);
    console.log(`leader SIGKILLed: a new leader ${tookMs} ms after the primary saw the exit`);
    expect(tookMs).toBeLessThan(100);
    const next = appointed.leader as { slot: number; pid: number; epoch: number };
    expect(next.pid).not.toBe(old.pid);
    expect(next.epoch).toBe(old.epoch + 1);
    // The lowest slot whose worker was ready then (the dead one's slot is still restarting).
    expect(next.slot).toBe(old.slot === 0 ? 1 : 0);
    const dismissed = leaderEvents(app).find((e) => e.leader === null && (e.previous as { pid: number }).pid === old.pid);
    expect(dismissed?.reason).toBe('exited');
  });

  it('moves leadership once in a rolling restart, never to a starting or draining worker', async () => {
    const started = await startCluster(3);
    app = started.app;
    await askEveryWorker(started.port, 3, (all) => [...all.values()].every((a) => a.leader !== null));
    const before = leaderEvents(app).length;
    app.signal('SIGHUP');
    await app.waitForEvent((e) => e.type === 'rolling-restart' && e.phase === 'done', 'the rolling restart', 60_000);
    const during = leaderEvents(app).slice(before);
    expect(during.map((e) => e.reason)).toEqual(['draining', 'appointed']);
    // The new leader is one of the replacements, ready before it was appointed; the old one was
    // dismissed as it began to drain, before the new one was appointed.
    const newLeader = leaderPid(during[1]!)!;
    const ready = await app.waitForEvent((e) => e.type === 'ready' && e.pid === newLeader, 'the new leader ready');
    expect(Number(ready.at)).toBeLessThanOrEqual(Number(during[1]!.at));
    expect(Number(during[0]!.at)).toBeLessThanOrEqual(Number(during[1]!.at));
    expect((during[0]!.previous as { pid: number }).pid).not.toBe(newLeader);
    const answers = await askEveryWorker(started.port, 3, (all) => [...all.values()].every((a) => a.leader?.pid === newLeader));
    expect([...answers.values()].filter((a) => a.isLeader)).toHaveLength(1);
  });

  it('dismisses the leader when the cluster shuts down', async () => {
    const started = await startCluster(2);
    app = started.app;
    await askEveryWorker(started.port, 2, (all) => [...all.values()].every((a) => a.leader !== null));
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(leaderEvents(app).at(-1)).toMatchObject({ leader: null, reason: 'shutdown' });
  });
});
