import { jest } from '@jest/globals';
import { ClusterProcess, freePort, get, isAlive, until, type ObservedEvent, type ReadyWorker } from './helpers/cluster-process.js';

// A case boots a cluster (up to a minute on a busy machine) and then watches it.
jest.setTimeout(120_000);

describe('a clustered app (2 workers)', () => {
  let app: ClusterProcess;
  let port: number;
  let ready: ReadyWorker[];

  beforeEach(async () => {
    port = await freePort();
    app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: '2' });
    ready = await app.waitForReady(2);
  });

  afterEach(() => app.killGroup());

  it('serves one port from two worker processes', async () => {
    const pids = new Set<number>();
    const slots = new Set<number>();
    for (let i = 0; i < 20 && pids.size < 2; i++) {
      const { status, body } = await get(port);
      expect(status).toBe(200);
      expect(body.role).toBe('worker');
      pids.add(body.pid);
      slots.add(body.slot);
    }
    expect(pids.size).toBe(2);
    expect([...slots].sort()).toEqual([0, 1]);
    expect(pids.has(app.pid)).toBe(false);
  });

  it('replaces a SIGKILLed worker in the same slot, and the other worker sees exit, fork and ready', async () => {
    const before = await get(port, '/workers');
    const victim = before.body.workers.find((w: { slot: number }) => w.slot === 0);
    process.kill(victim.pid, 'SIGKILL');

    const seenBySlot1 = (events: ObservedEvent[]) => events.filter((e) => e.observer === 1).map((e) => e.event);
    const sequence = await app.waitForEvents((events) => {
      const seen = seenBySlot1(events);
      const exit = seen.findIndex((e) => e.type === 'exit' && e.pid === victim.pid);
      if (exit < 0) return undefined;
      const fork = seen.findIndex((e, i) => i > exit && e.type === 'fork' && e.slot === 0);
      if (fork < 0) return undefined;
      const ready = seen.findIndex((e, i) => i > fork && e.type === 'ready' && e.pid === seen[fork]!.pid);
      return ready < 0 ? undefined : { exit: seen[exit]!, fork: seen[fork]!, ready: seen[ready]! };
    }, 'exit, fork and ready of slot 0 seen by slot 1');

    expect(sequence.exit).toMatchObject({ slot: 0, signal: 'SIGKILL', code: null, expected: false });
    expect(sequence.fork.slot).toBe(0);
    expect(sequence.fork.pid).not.toBe(victim.pid);

    // The replacement serves, as slot 0, with the pid announced in the events.
    const answers = new Map<number, number>();
    for (let i = 0; i < 20 && answers.size < 2; i++) {
      const { body } = await get(port);
      answers.set(body.slot, body.pid);
    }
    expect(answers.get(0)).toBe(sequence.fork.pid);
    expect(isAlive(victim.pid)).toBe(false);
  });

  it('drains gracefully on a Ctrl-C to the whole process group, each worker once, led by the primary', async () => {
    process.kill(-app.pid, 'SIGINT');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    // The primary began one drain, for the SIGINT, and saw it end with every worker gone.
    const decided = app.primaryEvents();
    expect(decided.filter((e) => e.type === 'shutdown').map((e) => e.reason)).toEqual(['SIGINT']);
    expect(decided.at(-1)).toMatchObject({ type: 'stopped', code: 0 });
    // Led by the primary: each worker was told of the primary's shutdown, once.
    for (const observer of [0, 1]) {
      const shutdowns = app.events().filter((e) => e.observer === observer && e.event.type === 'shutdown');
      expect(shutdowns.map((e) => e.event.reason)).toEqual(['SIGINT']);
    }
    // Which drain a worker ran (the primary's, or its own signal's) shows nowhere but in its log.
    expect(app.lines.filter((l) => /draining \(asked by the primary\)/.test(l))).toHaveLength(2);
    expect(app.output()).not.toMatch(/sent to this worker alone/);
  });

  it('replaces a worker that was sent SIGTERM on its own, after it drained', async () => {
    const victim = ready[1]!.pid;
    process.kill(victim, 'SIGTERM');
    // Code 0: it drained; the primary did not ask for it, and restarts the slot.
    const exit = await app.waitForEvent((e) => e.type === 'exit' && e.pid === victim, 'the SIGTERMed worker to exit');
    expect(exit).toMatchObject({ slot: 1, code: 0, signal: null, expected: false, reason: 'exited-unasked' });
    const replacement = await app.waitForEvent((e) => e.type === 'ready' && e.slot === 1 && e.pid !== victim, 'slot 1 ready again');
    const answers = new Map<number, number>();
    for (let i = 0; i < 20 && answers.size < 2; i++) {
      const { body } = await get(port);
      answers.set(body.slot, body.pid);
    }
    expect(answers.get(1)).toBe(replacement.pid);
  });

  it('takes every worker down within 2 s when the primary is SIGKILLed', async () => {
    const workerPids = ready.map((w) => w.pid);
    expect(workerPids).toHaveLength(2);
    expect(workerPids.every(isAlive)).toBe(true);

    const killedAt = Date.now();
    app.signal('SIGKILL');
    await until(() => !workerPids.some(isAlive), 'every worker to exit', 10_000);
    expect(Date.now() - killedAt).toBeLessThan(2_000);
    expect(await app.exited).toEqual({ code: null, signal: 'SIGKILL' });
  });
});
