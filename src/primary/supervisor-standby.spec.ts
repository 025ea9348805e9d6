import { EXIT_CODES } from '../cluster.constants.js';
import { controlEnvelope } from '../channel/channel-protocol.js';
import { messageEnvelope } from '../messaging/envelope.js';
import { REFILL_DELAY_MS } from './standby-pool.js';
import { startSupervisor, useFakeClock, type FakeCluster, type FakeWorker } from './fake-cluster.spec-helper.js';

/** Jest's object on native ESM (no injected global there). */
const tick = useFakeClock(import.meta.jest);

/** The live standbys, oldest first. */
const standbys = (cluster: FakeCluster): FakeWorker[] => cluster.alive(-1);
const promotions = (worker: FakeWorker): unknown[] => worker.received.filter((m) => m.kind === 'promote').map((m) => m.data);

describe('Supervisor: warm standby', () => {
  it('forks the standbys after the workers, keeps them out of workers() and lists them for the control socket', async () => {
    const { cluster, supervisor } = startSupervisor({ standby: 1 });
    expect(cluster.forks.map((w) => w.slot)).toEqual([0, 1, -1]);
    await tick(50);
    expect(supervisor.snapshot().map((w) => w.slot)).toEqual([0, 1]);
    expect(supervisor.standbyInfos()).toEqual([expect.objectContaining({ slot: -1, pid: cluster.forks[2]!.process.pid, state: 'standby' })]);
    expect(cluster.eventsOf('standby')).toEqual([expect.objectContaining({ phase: 'ready', slot: -1, pid: cluster.forks[2]!.process.pid })]);
    // Every snapshot the workers got lists the two serving workers only.
    for (const worker of cluster.forks) {
      for (const m of worker.received.filter((e) => e.kind === 'lifecycle')) {
        const { workers } = m.data as { workers: Array<{ slot: number }> };
        expect(workers.every((w) => w.slot >= 0)).toBe(true);
      }
    }
  });

  it('gives the slot of a crashed worker to the standby at once, then boots another', async () => {
    const { cluster, supervisor } = startSupervisor({ standby: 1 });
    await tick(50);
    const standby = standbys(cluster)[0]!;
    cluster.alive(0)[0]!.exit(null, 'SIGKILL');
    // No time passes: the promotion goes out with the exit, and the standby says ready on its next turn.
    await tick(0);
    expect(promotions(standby)).toEqual([0]);
    expect(cluster.eventsOf('restart-scheduled')).toEqual([]);
    expect(cluster.eventsOf('standby').at(-1)).toEqual(expect.objectContaining({ phase: 'promoted', slot: 0, pid: standby.process.pid }));
    expect(cluster.eventsOf('ready').at(-1)).toEqual(expect.objectContaining({ slot: 0, pid: standby.process.pid }));
    expect(supervisor.snapshot()).toEqual([
      expect.objectContaining({ slot: 0, pid: standby.process.pid, state: 'ready', restarts: 1 }),
      expect.objectContaining({ slot: 1 }),
    ]);
    // Its successor is forked a moment after it serves (the promoted worker has the CPU first).
    expect(standbys(cluster)).toHaveLength(0);
    await tick(REFILL_DELAY_MS);
    const next = standbys(cluster);
    expect(next).toHaveLength(1);
    expect(next[0]).not.toBe(standby);
    await tick(50);
    expect(
      cluster
        .eventsOf('standby')
        .filter((e) => e.phase === 'ready')
        .map((e) => e.pid),
    ).toEqual([standby.process.pid, next[0]!.process.pid]);
  });

  it('counts a standby that listens already, on ports the primary owns, ready as soon as it takes the slot', async () => {
    const { cluster, supervisor } = startSupervisor({ standby: 1 }, { behaviour: { bootMs: 50, drainMs: 20, standbyListens: true } });
    await tick(50);
    const standby = standbys(cluster)[0]!;
    const readyBefore = standby.received.length;
    cluster.alive(1)[0]!.exit(null, 'SIGKILL');
    // Ready with the exit, before the standby said anything: the promotion is the first thing it hears.
    expect(supervisor.snapshot()).toEqual([
      expect.objectContaining({ slot: 0 }),
      expect.objectContaining({ slot: 1, pid: standby.process.pid, state: 'ready' }),
    ]);
    expect(standby.received[readyBefore]).toEqual(expect.objectContaining({ kind: 'promote', data: 1 }));
    await tick(0);
    expect(cluster.eventsOf('ready').at(-1)).toEqual(expect.objectContaining({ slot: 1, pid: standby.process.pid, bootMs: 0 }));
  });

  it('counts the exit towards the crash loop all the same', async () => {
    const { cluster, exitCode } = startSupervisor({ standby: 1, restart: { maxRestarts: 3, windowMs: 60_000 } });
    await tick(50);
    for (let crash = 0; crash < 3; crash++) {
      cluster.alive(crash % 2)[0]!.exit(1);
      await tick(REFILL_DELAY_MS + 50); // the standby took the slot; its successor booted
    }
    await tick(1_000);
    expect(exitCode()).toBe(EXIT_CODES.crashLoop);
    expect(cluster.eventsOf('standby').filter((e) => e.phase === 'promoted')).toHaveLength(2);
    expect(cluster.alive()).toHaveLength(0);
  });

  it('restarts with the backoff when no standby is ready yet, and a standby that boots meanwhile takes the slot', async () => {
    const { cluster } = startSupervisor(
      { standby: 1, restart: { initialDelayMs: 1_000, maxDelayMs: 1_000 } },
      { behaviour: { bootMs: 50, drainMs: 20 } },
    );
    await tick(50);
    cluster.alive(0)[0]!.exit(1);
    await tick(REFILL_DELAY_MS); // the standby took slot 0; its successor is forked a moment later
    const second = standbys(cluster)[0]!;
    cluster.alive(1)[0]!.exit(1); // before the next standby has booted
    await tick(0);
    expect(cluster.eventsOf('restart-scheduled').map((e) => e.slot)).toEqual([1]);
    await tick(50); // it boots: slot 1 takes it rather than waiting out its backoff
    expect(promotions(second)).toEqual([1]);
    await tick(1_000);
    // Slot 1 got no fork of its own: after the first two workers, only standbys were forked.
    expect(cluster.forks.map((w) => w.slot)).toEqual([0, 1, 0, 1, -1]);
    expect(cluster.alive().map((w) => w.slot)).toEqual([0, 1, -1]);
  });

  it('forks a failed standby again after a growing backoff, without counting it towards the crash loop', async () => {
    const { cluster, exitCode } = startSupervisor({ standby: 1, restart: { maxRestarts: 3 } });
    await tick(50);
    standbys(cluster)[0]!.exit(1);
    expect(standbys(cluster)).toHaveLength(0);
    await tick(99);
    expect(standbys(cluster)).toHaveLength(0);
    await tick(1);
    expect(standbys(cluster)).toHaveLength(1);
    for (const delayMs of [200, 400, 800]) {
      standbys(cluster)[0]!.exit(1); // at once, before it booted
      await tick(delayMs - 1);
      expect(standbys(cluster)).toHaveLength(0);
      await tick(1);
      expect(standbys(cluster)).toHaveLength(1);
    }
    // Five failed standbys: no crash loop, the workers still serve.
    await tick(1_000);
    expect(exitCode()).toBeUndefined();
    expect(cluster.alive().map((w) => w.slot)).toEqual([0, 1, -1]);
  });

  it('sends a standby no cluster message and no request', async () => {
    const { cluster } = startSupervisor({ standby: 1 });
    await tick(50);
    const [first, second, standby] = cluster.forks as [FakeWorker, FakeWorker, FakeWorker];
    const from = { node: 'x', id: first.id, slot: 0, pid: first.process.pid };
    // Every worker, the standby too, says it handles `t`.
    for (const worker of cluster.forks) worker.write(controlEnvelope.handlers(['t']));
    first.write(messageEnvelope('publish', { topic: 'news', from, data: '1' }));
    for (let i = 0; i < 4; i++) first.write(messageEnvelope('request', { topic: 't', id: String(i), timeoutMs: 1_000, from, data: '1' }));
    await tick(0);
    const kinds = (w: FakeWorker) => w.received.filter((m) => m.kind === 'publish' || m.kind === 'request' || m.kind === 'batch');
    expect(kinds(standby)).toEqual([]);
    expect(kinds(second).length).toBeGreaterThan(0);
  });

  it('renews the standbys on a rolling restart of every slot: they run the code of before', async () => {
    const { cluster, supervisor } = startSupervisor({ standby: 1 });
    await tick(50);
    const old = standbys(cluster)[0]!;
    void supervisor.restartWorkers('SIGHUP');
    await tick(0);
    expect(old.shutdowns()).toEqual([{ handOff: false }]);
    await tick(20);
    expect(old.alive).toBe(false);
    expect(standbys(cluster)).toHaveLength(1);
    expect(standbys(cluster)[0]).not.toBe(old);
    // Its exit was asked for: nothing counted, nothing forked in its place but the new standby.
    expect(cluster.eventsOf('exit').at(-1)).toEqual(expect.objectContaining({ pid: old.process.pid, expected: true, reason: 'replaced' }));
  });

  it('drains the standbys with the workers on shutdown, and exits 0', async () => {
    const { cluster, supervisor, exitCode } = startSupervisor({ standby: 2 });
    await tick(50);
    supervisor.shutdown('SIGTERM');
    await tick(0);
    expect(cluster.forks.map((w) => w.shutdowns())).toEqual(Array.from({ length: 4 }, () => [{ handOff: false }]));
    await tick(20);
    expect(cluster.alive()).toHaveLength(0);
    expect(exitCode()).toBe(EXIT_CODES.clean);
    expect(cluster.forks).toHaveLength(4);
  });
});
