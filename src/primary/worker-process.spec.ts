import type { Worker } from 'node:cluster';
import { WorkerProcess } from './worker-process.js';

const identity = { node: 'n1', id: 3, slot: 1, pid: 4242 };
const fresh = () => new WorkerProcess({} as Worker, identity);

describe('WorkerProcess', () => {
  it('starts, becomes ready once, and resolves started with true', async () => {
    const process = fresh();
    expect(process.state).toBe('starting');
    expect(process.ready(5_000)).toBe(true);
    expect(process.ready(6_000)).toBe(false);
    expect(process.readyAt).toBe(5_000);
    await expect(process.started).resolves.toBe(true);
    expect(process.info(2, true)).toEqual({
      ...identity,
      state: 'ready',
      startedAt: process.startedAt,
      readyAt: 5_000,
      restarts: 2,
      congested: true,
    });
  });

  it('reads an exit nobody asked for by where it was: failed to start, on its own, or crashed', () => {
    expect(fresh().exit(1)).toEqual({ expected: false, reason: 'failed-to-start' });
    const quiet = fresh();
    quiet.ready();
    expect(quiet.exit(0)).toEqual({ expected: false, reason: 'exited-unasked' });
    const crashed = fresh();
    crashed.ready();
    expect(crashed.exit(null)).toEqual({ expected: false, reason: 'crashed' });
  });

  it('reads a shutdown or a replacement as expected, whatever the code', async () => {
    const replaced = fresh();
    replaced.ready();
    expect(replaced.stop('replaced')).toBe(true);
    expect(replaced.state).toBe('draining');
    expect(replaced.exit(1)).toEqual({ expected: true, reason: 'replaced' });
    await expect(replaced.exited).resolves.toBeUndefined();
    const booting = fresh();
    booting.stop('shutdown');
    expect(booting.exit(0)).toEqual({ expected: true, reason: 'shutdown' });
    await expect(booting.started).resolves.toBe(false);
  });

  it('times out only while starting; a ready that comes after the timeout is ignored', async () => {
    const late = fresh();
    expect(late.readyTimedOut()).toBe(true);
    expect(late.exit(null)).toEqual({ expected: false, reason: 'ready-timeout' });
    expect(late.ready()).toBe(false);
    await expect(late.started).resolves.toBe(false);
    const ready = fresh();
    ready.ready();
    expect(ready.readyTimedOut()).toBe(false);
  });

  it('turns unresponsive only from ready, and that exit counts as a failure', () => {
    const starting = fresh();
    expect(starting.unresponsive()).toBe(false);
    const hung = fresh();
    hung.ready();
    expect(hung.unresponsive()).toBe(true);
    expect(hung.unresponsive()).toBe(false);
    expect(hung.state).toBe('unresponsive');
    expect(hung.exit(null)).toEqual({ expected: false, reason: 'unresponsive' });
  });

  it('changes nothing once exited', () => {
    const gone = fresh();
    gone.ready();
    gone.exit(null);
    expect(gone.stop('shutdown')).toBe(false);
    expect(gone.unresponsive()).toBe(false);
    expect(gone.stopReason).toBeUndefined();
  });
});
