import { jest } from '@jest/globals';
import { ClusterProcess, freePort, groupMembers, isAlive } from './helpers/cluster-process.js';

// A case boots a cluster (up to a minute on a busy machine) and then watches it.
jest.setTimeout(120_000);

describe('a worker that throws while booting', () => {
  let app: ClusterProcess;

  afterEach(() => app.killGroup());

  it('is restarted with growing delays until the crash-loop cap stops the cluster with exit 70', async () => {
    app = ClusterProcess.start({
      PORT: String(await freePort()),
      CLUSTER_WORKERS: '2',
      CLUSTER_MAX_RESTARTS: '6',
      FIXTURE_BOOT_FAIL: '1',
    });
    const exit = await app.exited;

    expect(exit).toEqual({ code: 70, signal: null });
    const events = app.primaryEvents();
    expect(events.find((e) => e.type === 'crash-loop')).toMatchObject({ exits: 6, windowMs: 60_000 });
    expect(events.at(-1)).toMatchObject({ type: 'stopped', code: 70 });
    // What the operator reads: why the cluster stopped, and the setting that bounds it.
    expect(app.output()).toMatch(/crash loop: 6 unexpected worker exits within 60000 ms \(limit 6, CLUSTER_MAX_RESTARTS\)/);
    expect(app.output()).toMatch(/fixture boot failure/);

    // Each slot waited longer before each further restart: 100 ms, 200 ms, 400 ms...
    for (const slot of [0, 1]) {
      const scheduled = events.filter((e) => e.type === 'restart-scheduled' && e.slot === slot);
      const delays = scheduled.map((e) => e.delayMs);
      expect(delays.length).toBeGreaterThanOrEqual(2);
      expect(delays.slice(0, 3)).toEqual([100, 200, 400].slice(0, Math.min(3, delays.length)));
    }

    // Nothing of the cluster is left.
    expect(app.forkedPids().filter(isAlive)).toEqual([]);
    expect(groupMembers(app.pid)).toEqual([]);
  });
});
