/**
 * `@nestjs/schedule` jobs in a cluster without `ClusterScheduleModule` run on every worker: the
 * primary says so once at boot, naming the jobs and the module, unless the app opts out.
 */
import { fileURLToPath } from 'node:url';
import { ClusterProcess } from './helpers/cluster-process.js';

const JOBS_APP = fileURLToPath(new URL('./fixtures/dist/jobs-app.js', import.meta.url));

/** The primary's warning: the one line naming the module to import. */
const WARNING = /WARN.*ClusterScheduleModule/;

describe('jobs that would run on every worker', () => {
  let app: ClusterProcess | undefined;

  afterEach(async () => {
    await app?.stop();
    app = undefined;
  }, 30_000);

  it('are named once by the primary, not once per worker nor again when a worker restarts', async () => {
    app = ClusterProcess.start({ CLUSTER_WORKERS: '2', PORT: '0' }, JOBS_APP);
    const [first] = await app.waitForReady(2);
    const warnings = () => app!.lines.filter((l) => WARNING.test(l));
    expect(warnings()).toHaveLength(1);
    const [warning] = warnings();
    expect(warning).toContain('TasksService.handleCron (@Cron)');
    expect(warning).toContain('TasksService.handleInterval (@Interval)');
    expect(warning).toContain('TasksService.handleTimeout (@Timeout)');
    expect(warning).toContain('perWorkerJobs');
    expect(app.lines.filter((l) => /\bERROR\b/.test(l))).toEqual([]); // looking for the jobs logs nothing else
    // A replacement reports the same jobs: still one warning.
    process.kill(first!.pid, 'SIGKILL');
    await app.waitForEvent((e) => e.type === 'ready' && e.slot === first!.slot && e.pid !== first!.pid, 'the replacement ready');
    expect(warnings()).toHaveLength(1);
  }, 60_000);

  it.each<[string, Record<string, string>]>([
    ['ClusterScheduleModule is imported', { FIXTURE_CLUSTER_SCHEDULE: '1' }],
    ['the app opts out (CLUSTER_PER_WORKER_JOBS=true)', { CLUSTER_PER_WORKER_JOBS: 'true' }],
    ['one worker serves', { CLUSTER_WORKERS: '1' }],
  ])(
    'are not warned about when %s',
    async (_case, env) => {
      app = ClusterProcess.start({ CLUSTER_WORKERS: '2', PORT: '0', ...env }, JOBS_APP);
      await app.waitForReady(Number(env.CLUSTER_WORKERS ?? 2));
      // Each worker's jobs are known before it counts as ready: a warning would be out by now.
      expect(app.lines.filter((l) => WARNING.test(l))).toEqual([]);
    },
    60_000,
  );
});
