import type { Logger } from '@nestjs/common';
import { EXIT_CODES } from '../cluster.constants.js';
import type { ClusterBootstrapOptions } from '../interfaces/bootstrap-options.interface.js';
import type { ClusterEvent } from '../interfaces/cluster-event.interface.js';
import { FakeCluster, resolvedOptions, useFakeClock, type FakeBehaviour } from './fake-cluster.spec-helper.js';
import { Supervisor } from './supervisor.js';

const tick = useFakeClock(import.meta.jest);

/** A Supervisor on a FakeCluster whose `onPrimaryEvent` records what it hears, and whose errors are kept. */
function start(options: ClusterBootstrapOptions = {}, behaviour?: FakeBehaviour, hook?: (event: ClusterEvent) => unknown) {
  const cluster = new FakeCluster();
  if (behaviour) cluster.behaviour = behaviour;
  const heard: ClusterEvent[] = [];
  const errors: string[] = [];
  const logger = { log: () => undefined, warn: () => undefined, error: (line: string) => errors.push(line) } as unknown as Logger;
  const onPrimaryEvent = (event: ClusterEvent) => {
    heard.push(event);
    return hook?.(event);
  };
  const supervisor = new Supervisor(resolvedOptions({ ...options, onPrimaryEvent }), cluster.asCluster(), { logger });
  let code: number | undefined;
  void supervisor.start().then((c) => (code = c));
  return { cluster, supervisor, heard, errors, exitCode: () => code };
}

describe('Supervisor: onPrimaryEvent', () => {
  it('hears every event the workers hear, as the same objects, in the same order, and those no worker was there to hear', async () => {
    const { cluster, supervisor, heard } = start();
    await tick(50);
    cluster.alive(0)[0]!.exit(1);
    await tick(200);
    supervisor.shutdown('SIGTERM');
    await tick(20);
    const types = heard.map((e) => e.type);
    // What reached a worker is what the hook heard, less what came when no worker listened (the forks).
    const broadcast = cluster.events();
    expect(heard.filter((e) => broadcast.includes(e))).toEqual(broadcast);
    expect(broadcast.length).toBeGreaterThan(5);
    expect(types.slice(0, 2)).toEqual(['fork', 'fork']);
    expect(types).toEqual(expect.arrayContaining(['ready', 'exit', 'restart-scheduled', 'shutdown', 'leader']));
  });

  it('says once that every slot is ready, with the count, after the last ready', async () => {
    const { cluster, heard } = start({ workers: 3 });
    await tick(50);
    cluster.alive(1)[0]!.exit(1);
    await tick(500); // the replacement is ready: no second cluster-ready
    const readyAll = heard.filter((e) => e.type === 'cluster-ready');
    expect(readyAll).toEqual([expect.objectContaining({ type: 'cluster-ready', workers: 3, node: expect.any(String) })]);
    const at = heard.indexOf(readyAll[0]!);
    expect(heard.slice(0, at).filter((e) => e.type === 'ready')).toHaveLength(3);
  });

  it('ends with stopped and the exit code: 0 after a clean drain', async () => {
    const { supervisor, heard, exitCode } = start();
    await tick(50);
    supervisor.shutdown('SIGTERM');
    await tick(20);
    expect(exitCode()).toBe(EXIT_CODES.clean);
    expect(heard.at(-1)).toMatchObject({ type: 'stopped', code: EXIT_CODES.clean });
    expect(heard.filter((e) => e.type === 'stopped')).toHaveLength(1);
  });

  it('ends with stopped even when node:cluster reports a worker disconnect after the last exit', async () => {
    const { cluster, supervisor, heard } = start();
    await tick(50);
    const workers = cluster.alive(0).concat(cluster.alive(1));
    supervisor.shutdown('SIGTERM');
    await tick(20);
    expect(heard.at(-1)).toMatchObject({ type: 'stopped' });
    for (const worker of workers) worker.emit('disconnect');
    expect(heard.at(-1)).toMatchObject({ type: 'stopped' });
    expect(heard.filter((e) => e.type === 'stopped')).toHaveLength(1);
  });

  it('ends with stopped and exit code 70 after a crash loop', async () => {
    const { heard, exitCode } = start({ restart: { maxRestarts: 3, windowMs: 60_000 } }, { exitAfterMs: 10, exitCode: 1 });
    await tick(10);
    await tick(110);
    await tick(1_000);
    expect(exitCode()).toBe(EXIT_CODES.crashLoop);
    const types = heard.map((e) => e.type);
    expect(types.indexOf('crash-loop')).toBeLessThan(types.indexOf('shutdown'));
    expect(heard.find((e) => e.type === 'crash-loop')).toMatchObject({ exits: 3, windowMs: 60_000 });
    expect(heard.at(-1)).toMatchObject({ type: 'stopped', code: EXIT_CODES.crashLoop });
  });

  it('survives a hook that throws on every event: logged once, the cluster goes on and stops cleanly', async () => {
    const { cluster, supervisor, heard, errors, exitCode } = start({}, undefined, () => {
      throw new Error('hook bug');
    });
    await tick(50);
    expect(cluster.eventsOf('ready')).toHaveLength(2);
    cluster.alive(0)[0]!.exit(1);
    await tick(200);
    expect(cluster.alive(0)).toHaveLength(1); // restarted all the same
    supervisor.shutdown('SIGTERM');
    await tick(20);
    expect(exitCode()).toBe(EXIT_CODES.clean);
    expect(heard.length).toBeGreaterThan(5);
    expect(errors.filter((line) => line.includes('onPrimaryEvent'))).toEqual([
      expect.stringMatching(/^onPrimaryEvent failed on a "fork" event \(reported once, the primary goes on\): Error: hook bug/),
    ]);
  });

  it('survives an async hook that rejects: logged once, not an uncaught error of the primary', async () => {
    const { supervisor, errors, exitCode } = start({}, undefined, () => Promise.reject(new Error('async hook bug')));
    await tick(50);
    supervisor.shutdown('SIGTERM');
    await tick(20);
    expect(exitCode()).toBe(EXIT_CODES.clean);
    expect(errors).toEqual([expect.stringMatching(/onPrimaryEvent failed on a "fork" event .*async hook bug/)]);
  });
});
