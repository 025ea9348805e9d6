import type { FakeCluster } from './fake-cluster.spec-helper.js';
import { startSupervisor, useFakeClock } from './fake-cluster.spec-helper.js';

/** Jest's object on native ESM (no injected global there). */
const tick = useFakeClock(import.meta.jest);

/** The rolling restart events, as [phase, slot or reason]. */
function phases(cluster: FakeCluster): Array<[string, number | string | undefined]> {
  return cluster.eventsOf('rolling-restart').map((e) => [e.phase, e.phase === 'step' || e.phase === 'aborted' ? e.slot : e.reason]);
}

/** Tracks a promise without awaiting it. */
function settled(promise: Promise<void>): () => boolean {
  let done = false;
  void promise.then(() => (done = true));
  return () => done;
}

describe('Supervisor: rolling restart', () => {
  it('replaces one slot at a time, the new worker ready before the old one is asked to drain', async () => {
    const { cluster, supervisor } = startSupervisor({ workers: 2 });
    await tick(50);
    const [old0, old1] = cluster.forks;

    expect(supervisor.state().rollingRestarts).toEqual({ started: 0, done: 0, aborted: 0 });
    const done = settled(supervisor.restartWorkers('deploy'));
    expect(supervisor.state().rollingRestarts).toEqual({ started: 1, done: 0, aborted: 0 });
    expect(cluster.forks.map((w) => w.slot)).toEqual([0, 1, 0]);
    await tick(49);
    expect(old0!.shutdowns()).toEqual([]); // its replacement is still booting
    await tick(1);
    expect(old0!.shutdowns()).toEqual([{ handOff: true }]);
    expect(cluster.forks).toHaveLength(3); // slot 1 waits until slot 0 is done
    await tick(20);
    expect(old0!.alive).toBe(false);
    expect(cluster.forks.map((w) => w.slot)).toEqual([0, 1, 0, 1]);
    expect(old1!.shutdowns()).toEqual([]);
    await tick(70);

    expect(done()).toBe(true);
    expect(supervisor.state().rollingRestarts).toEqual({ started: 1, done: 1, aborted: 0 });
    expect(old1!.alive).toBe(false);
    expect(cluster.alive().map((w) => w.id)).toEqual([3, 4]);
    expect(phases(cluster)).toEqual([
      ['start', 'deploy'],
      ['step', 0],
      ['step', 1],
      ['done', 'deploy'],
    ]);
    // The old workers left as asked: nothing to restart.
    expect(cluster.eventsOf('exit').map((e) => [e.pid, e.reason, e.expected])).toEqual([
      [old0!.process.pid, 'replaced', true],
      [old1!.process.pid, 'replaced', true],
    ]);
  });

  it('aborts when a replacement is not ready within readyTimeoutMs; the old workers keep serving', async () => {
    const { cluster, supervisor } = startSupervisor({ workers: 2, readyTimeoutMs: 1_000 });
    await tick(50);
    const [old0, old1] = cluster.forks;
    cluster.behaviour = { drainMs: 20 }; // from now on a booting worker never gets ready

    const done = settled(supervisor.restartWorkers('deploy'));
    await tick(999);
    expect(cluster.forks[2]!.signals).toEqual([]);
    await tick(1);
    expect(cluster.forks[2]!.signals).toEqual(['SIGKILL']);
    await tick(0);

    expect(done()).toBe(true);
    expect(supervisor.state().rollingRestarts).toEqual({ started: 1, done: 0, aborted: 1 });
    expect(phases(cluster)).toEqual([
      ['start', 'deploy'],
      ['aborted', 0],
    ]);
    expect(cluster.eventsOf('rolling-restart').at(-1)?.reason).toMatch(/not ready within 1000 ms/);
    expect([old0, old1].map((w) => [w!.alive, w!.shutdowns()])).toEqual([
      [true, []],
      [true, []],
    ]);
    await tick(10_000);
    expect(cluster.forks).toHaveLength(3); // slot 1 was not tried, and the failed replacement is not restarted
  });

  it('a restart asked for while one runs, for slots still ahead of it, joins it', async () => {
    const { cluster, supervisor } = startSupervisor({ workers: 3 });
    await tick(50);
    const all = settled(supervisor.restartWorkers('deploy'));
    const slot2 = settled(supervisor.restartWorkers('memory of worker 2', [2]));
    await tick(1_000);
    expect([all(), slot2()]).toEqual([true, true]);
    expect(cluster.forks.map((w) => w.slot)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(phases(cluster).filter(([phase]) => phase === 'start')).toEqual([['start', 'deploy']]);
  });

  it('SIGHUP during a one-slot memory restart replaces every slot, after the memory one', async () => {
    const rss = new Map<number, number>();
    const { cluster } = startSupervisor(
      { workers: 3, restart: { maxMemoryMb: 200, memoryCheckIntervalMs: 1_000 } },
      { rssMb: (pid) => rss.get(pid) ?? 100 },
    );
    await tick(50);
    const before = [...cluster.forks];
    rss.set(before[1]!.process.pid, 300);
    cluster.behaviour = { bootMs: 500, drainMs: 20 };
    await tick(950); // the memory check: slot 1's replacement boots
    expect(cluster.forks).toHaveLength(4);

    const forksBeforeHup = cluster.forks.length;
    process.emit('SIGHUP');
    await tick(10_000);

    const after = cluster.forks.slice(forksBeforeHup);
    expect(after.map((w) => w.slot)).toEqual([0, 1, 2]);
    expect(before.some((w) => w.alive)).toBe(false);
    expect(cluster.alive().map((w) => w.id)).toEqual(after.map((w) => w.id));
    expect(phases(cluster)).toEqual([
      ['start', 'memory of worker 1'],
      ['step', 1],
      ['done', 'memory of worker 1'],
      ['start', 'SIGHUP'],
      ['step', 0],
      ['step', 1],
      ['step', 2],
      ['done', 'SIGHUP'],
    ]);
  });

  it('requests arriving during a restart that cannot join it coalesce into one run after it', async () => {
    const { cluster, supervisor } = startSupervisor({ workers: 3 });
    await tick(50);
    const first = settled(supervisor.restartWorkers('deploy'));
    await tick(70); // slot 0 done; slot 1's replacement boots
    const a = settled(supervisor.restartWorkers('a', [0]));
    const b = settled(supervisor.restartWorkers('b', [0, 1]));
    const c = settled(supervisor.restartWorkers('c', [2])); // slot 2 is still ahead: joins the running one
    await tick(140); // the first run ends
    expect([first(), c(), a(), b()]).toEqual([true, true, false, false]);
    await tick(1_000);
    expect([a(), b()]).toEqual([true, true]);

    expect(phases(cluster)).toEqual([
      ['start', 'deploy'],
      ['step', 0],
      ['step', 1],
      ['step', 2],
      ['done', 'deploy'],
      ['start', 'a, b'],
      ['step', 0],
      ['step', 1],
      ['done', 'a, b'],
    ]);
    expect(cluster.forks.map((w) => w.slot)).toEqual([0, 1, 2, 0, 1, 2, 0, 1]);
  });

  it('a worker over the memory limit while a restart that already passed it runs is replaced after it', async () => {
    const rss = new Map<number, number>();
    const { cluster, supervisor } = startSupervisor(
      { workers: 2, restart: { maxMemoryMb: 200, memoryCheckIntervalMs: 1_000 } },
      { rssMb: (pid) => rss.get(pid) ?? 100 },
    );
    await tick(50);
    cluster.behaviour = { bootMs: 2_500, drainMs: 20 };
    const deploy = settled(supervisor.restartWorkers('deploy'));
    await tick(2_520); // slot 0 replaced; slot 1's replacement boots for 2.5 s
    const fresh0 = cluster.alive(0)[0]!;
    rss.set(fresh0.process.pid, 300); // checked twice while slot 1 boots
    await tick(2_600);
    expect(deploy()).toBe(true);
    await tick(5_000);

    expect(fresh0.alive).toBe(false);
    expect(phases(cluster)).toEqual([
      ['start', 'deploy'],
      ['step', 0],
      ['step', 1],
      ['done', 'deploy'],
      ['start', 'memory of worker 0'],
      ['step', 0],
      ['done', 'memory of worker 0'],
    ]);
    expect(cluster.forks.map((w) => w.slot)).toEqual([0, 1, 0, 1, 0]);
  });

  it('a shutdown drops the restart waiting its turn', async () => {
    const { cluster, supervisor, exitCode } = startSupervisor({ workers: 2 });
    await tick(50);
    const first = settled(supervisor.restartWorkers('deploy'));
    await tick(70);
    const queued = settled(supervisor.restartWorkers('again'));
    supervisor.shutdown('SIGTERM');
    await tick(1_000);
    expect([first(), queued()]).toEqual([true, true]);
    expect(exitCode()).toBe(0);
    expect(phases(cluster).filter(([phase]) => phase === 'start')).toEqual([['start', 'deploy']]);
  });
});
