import { EXIT_CODES } from '../cluster.constants.js';
import { startSupervisor, useFakeClock } from './fake-cluster.spec-helper.js';

/** Jest's object on native ESM (no injected global there). */
const tick = useFakeClock(import.meta.jest);

describe('Supervisor: start', () => {
  it('forks one worker per slot, tells each its slot, and broadcasts every ready', async () => {
    const { cluster } = startSupervisor({ workers: 3 });
    expect(cluster.forks.map((w) => w.slot)).toEqual([0, 1, 2]);
    await tick(50);
    expect(
      cluster
        .eventsOf('ready')
        .map((e) => e.slot)
        .sort(),
    ).toEqual([0, 1, 2]);
    // A worker that says hello gets the membership at once.
    const first = cluster.forks[0]!.received.find((m) => m.kind === 'lifecycle');
    expect(first).toBeDefined();
  });
});

describe('Supervisor: restarts after a crash', () => {
  it('waits 100 ms, then doubles each time, up to maxDelayMs', async () => {
    const { cluster } = startSupervisor({ restart: { maxDelayMs: 1_000, maxRestarts: 100 } });
    await tick(50);
    for (let i = 0; i < 6; i++) {
      cluster.alive(0)[0]!.exit(1);
      await tick(2_000); // past any delay: the next worker forked and booted
    }
    expect(cluster.eventsOf('restart-scheduled').map((e) => [e.slot, e.delayMs, e.attempt])).toEqual([
      [0, 100, 1],
      [0, 200, 2],
      [0, 400, 3],
      [0, 800, 4],
      [0, 1_000, 5],
      [0, 1_000, 6],
    ]);
    expect(cluster.forks.filter((w) => w.slot === 0)).toHaveLength(7);
    expect(cluster.alive(1)).toHaveLength(1); // the other slot is left alone
  });

  it('forks the replacement only once the delay has passed', async () => {
    const { cluster } = startSupervisor();
    await tick(50);
    cluster.alive(0)[0]!.exit(1);
    await tick(99);
    expect(cluster.alive(0)).toHaveLength(0);
    await tick(1);
    expect(cluster.alive(0)).toHaveLength(1);
  });

  it('starts the backoff over once a worker stayed up resetAfterMs', async () => {
    const { cluster } = startSupervisor({ restart: { resetAfterMs: 5_000 } });
    await tick(50);
    cluster.alive(0)[0]!.exit(1);
    await tick(150); // restarted after 100 ms, ready 50 ms later
    cluster.alive(0)[0]!.exit(1);
    await tick(250);
    await tick(5_000); // this one stays up
    cluster.alive(0)[0]!.exit(1);
    await tick(0);
    expect(cluster.eventsOf('restart-scheduled').map((e) => e.delayMs)).toEqual([100, 200, 100]);
  });

  it('stops the cluster with exit code 70 on a crash loop', async () => {
    const { cluster, exitCode } = startSupervisor({ restart: { maxRestarts: 3, windowMs: 60_000 } }, { behaviour: { exitAfterMs: 10, exitCode: 1 } });
    await tick(10); // both slots fail to start
    await tick(110); // each restarts after 100 ms and fails again: the third exit trips the cap
    await tick(1_000);
    expect(exitCode()).toBe(EXIT_CODES.crashLoop);
    expect(cluster.forks).toHaveLength(4);
    expect(cluster.alive()).toHaveLength(0);
  });
});

describe('Supervisor: shutdown', () => {
  it('asks every worker to drain and exits 0 once they all did', async () => {
    const { cluster, supervisor, exitCode } = startSupervisor();
    await tick(50);
    supervisor.shutdown('SIGTERM');
    await tick(0);
    expect(cluster.forks.map((w) => w.shutdowns())).toEqual([[{ handOff: false }], [{ handOff: false }]]);
    expect(cluster.eventsOf('shutdown')).toEqual([expect.objectContaining({ reason: 'SIGTERM' })]);
    await tick(20);
    expect(exitCode()).toBe(EXIT_CODES.clean);
    expect(cluster.forks.flatMap((w) => w.signals)).toEqual([]);
  });

  it('does not restart a worker that exits while the cluster drains', async () => {
    const { cluster, supervisor } = startSupervisor({}, { behaviour: { bootMs: 50 } });
    await tick(50);
    supervisor.shutdown('SIGTERM');
    cluster.forks[0]!.exit(1);
    await tick(1_000);
    expect(cluster.forks).toHaveLength(2);
  });

  it('kills what is left after shutdown.timeoutMs and exits 1', async () => {
    const { cluster, supervisor, exitCode } = startSupervisor({ shutdown: { timeoutMs: 1_000 } }, { behaviour: { bootMs: 50 } });
    await tick(50);
    supervisor.shutdown('SIGTERM');
    await tick(999);
    expect(cluster.forks.flatMap((w) => w.signals)).toEqual([]);
    await tick(1);
    expect(cluster.forks.map((w) => w.signals)).toEqual([['SIGKILL'], ['SIGKILL']]);
    await tick(0);
    expect(exitCode()).toBe(EXIT_CODES.workersKilled);
  });

  it('a second signal kills at once; the same signal forwarded within 250 ms does not', async () => {
    const { cluster, supervisor, exitCode } = startSupervisor({}, { behaviour: { bootMs: 50 } });
    await tick(50);
    process.emit('SIGINT');
    await tick(100);
    process.emit('SIGINT'); // npm start forwarding the same Ctrl-C
    await tick(0);
    expect(cluster.forks.flatMap((w) => w.signals)).toEqual([]);
    await tick(150);
    supervisor.shutdown('SIGTERM');
    await tick(0);
    expect(cluster.forks.map((w) => w.signals)).toEqual([['SIGKILL'], ['SIGKILL']]);
    expect(exitCode()).toBe(EXIT_CODES.workersKilled);
  });

  it('with shutdown.delayMs, says at once that the node stops, keeps the workers serving that long, then drains', async () => {
    const { cluster, supervisor, exitCode } = startSupervisor({ shutdown: { delayMs: 3_000, timeoutMs: 1_000 } });
    await tick(50);
    supervisor.shutdown('SIGTERM');
    await tick(0);
    expect(supervisor.state().stopping).toBe(true);
    expect(cluster.eventsOf('shutdown')).toEqual([expect.objectContaining({ reason: 'SIGTERM' })]);
    const lastState = (w: (typeof cluster.forks)[number]) =>
      (w.received.filter((m) => m.kind === 'lifecycle').at(-1)!.data as { state: { stopping?: boolean } }).state;
    expect(cluster.forks.map(lastState)).toEqual([expect.objectContaining({ stopping: true }), expect.objectContaining({ stopping: true })]);
    await tick(2_999);
    expect(cluster.forks.map((w) => w.shutdowns())).toEqual([[], []]);
    expect(supervisor.snapshot().map((w) => w.state)).toEqual(['ready', 'ready']);
    await tick(1);
    expect(cluster.forks.map((w) => w.shutdowns())).toEqual([[{ handOff: false }], [{ handOff: false }]]);
    await tick(20);
    expect(exitCode()).toBe(EXIT_CODES.clean);
    expect(cluster.forks.flatMap((w) => w.signals)).toEqual([]);
  });

  it('counts the delay in the deadline: what is left after delayMs + timeoutMs is killed', async () => {
    const { cluster, supervisor, exitCode } = startSupervisor({ shutdown: { delayMs: 2_000, timeoutMs: 1_000 } }, { behaviour: { bootMs: 50 } });
    await tick(50);
    supervisor.shutdown('SIGTERM');
    await tick(2_999);
    expect(cluster.forks.flatMap((w) => w.signals)).toEqual([]);
    await tick(1);
    expect(cluster.forks.map((w) => w.signals)).toEqual([['SIGKILL'], ['SIGKILL']]);
    await tick(0);
    expect(exitCode()).toBe(EXIT_CODES.workersKilled);
  });

  it('drains at once, without the delay, when the cause is not a signal (a crash loop)', async () => {
    const { cluster, supervisor } = startSupervisor({ shutdown: { delayMs: 3_000 } });
    await tick(50);
    supervisor.shutdown('crash-loop');
    await tick(0);
    expect(cluster.forks.map((w) => w.shutdowns())).toEqual([[{ handOff: false }], [{ handOff: false }]]);
  });

  it('a cause that is not a signal (a crash loop during a drain) does not force', async () => {
    const { cluster, supervisor } = startSupervisor({}, { behaviour: { bootMs: 50 } });
    await tick(50);
    supervisor.shutdown('SIGTERM');
    await tick(1_000);
    supervisor.shutdown('crash-loop');
    await tick(0);
    expect(cluster.forks.flatMap((w) => w.signals)).toEqual([]);
  });

  it('removes its process listeners once the cluster stopped', async () => {
    const counts = () => ['SIGINT', 'SIGTERM', 'SIGHUP', 'exit', 'uncaughtException'].map((e) => process.listenerCount(e));
    const before = counts();
    const { supervisor, exitCode } = startSupervisor();
    expect(counts()).toEqual(before.map((n) => n + 1));
    await tick(50);
    supervisor.shutdown('SIGTERM');
    await tick(20);
    expect(exitCode()).toBe(EXIT_CODES.clean);
    expect(counts()).toEqual(before);
  });
});

describe('Supervisor: memory guard', () => {
  it('replaces a worker above restart.maxMemoryMb, new one first, and only that one', async () => {
    const rss = new Map<number, number>();
    const { cluster } = startSupervisor({ restart: { maxMemoryMb: 200, memoryCheckIntervalMs: 1_000 } }, { rssMb: (pid) => rss.get(pid) ?? 100 });
    await tick(50);
    const [old0, old1] = cluster.forks;
    rss.set(old1!.process.pid, 300);
    await tick(950); // the check
    expect(cluster.forks).toHaveLength(3);
    expect(cluster.forks[2]!.slot).toBe(1);
    expect(old1!.shutdowns()).toEqual([]);
    await tick(1_000); // checked again while the replacement boots: not asked twice
    await tick(100);
    expect(old1!.shutdowns()).toEqual([{ handOff: true }]);
    expect(old1!.alive).toBe(false);
    expect(old0!.alive).toBe(true);
    await tick(5_000);
    expect(cluster.forks).toHaveLength(3);
  });
});

describe('Supervisor: unresponsive worker', () => {
  it('stops routing to it, forks its replacement and SIGKILLs it once the replacement is ready', async () => {
    const { cluster } = startSupervisor({ unresponsiveMs: 3_000 }, { behaviour: { bootMs: 50, drainMs: 20, heartbeatMs: 1_000 } });
    await tick(50);
    const [hung, other] = cluster.forks;
    hung!.hang(); // last heard at 50 ms; checked every second
    await tick(3_949);
    expect(cluster.eventsOf('unresponsive')).toEqual([]);
    await tick(1);
    expect(cluster.eventsOf('unresponsive')).toEqual([expect.objectContaining({ slot: 0, pid: hung!.process.pid })]);
    expect(hung!.isConnected()).toBe(false);
    expect(cluster.forks).toHaveLength(3);
    expect(hung!.signals).toEqual([]);
    await tick(50);
    expect(hung!.signals).toEqual(['SIGKILL']);
    await tick(0);
    const exit = cluster.eventsOf('exit').find((e) => e.pid === hung!.process.pid);
    expect(exit).toMatchObject({ expected: false, reason: 'unresponsive' });
    // Its replacement serves; no restart is scheduled on top of it.
    await tick(5_000);
    expect(cluster.forks).toHaveLength(3);
    expect(other!.alive).toBe(true);
    expect(cluster.eventsOf('restart-scheduled')).toEqual([]);
  });
});
