import { jest } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { parseExposition, type ParsedScrape } from '../src/metrics/exposition.spec-helper.js';
import { ClusterProcess, freePort, get, type ReadyWorker } from './helpers/cluster-process.js';

// Each case boots real clusters, some restart them, on a machine that may be busy: slow, but never stuck.
jest.setTimeout(120_000);

const METRICS_APP = fileURLToPath(new URL('./fixtures/dist/metrics-app.js', import.meta.url));
const WILLSOTO_APP = fileURLToPath(new URL('./fixtures/dist/metrics-willsoto-app.js', import.meta.url));

interface Started {
  app: ClusterProcess;
  port: number;
  workers: ReadyWorker[];
}

let running: ClusterProcess | undefined;
const stopped = new Set<number>();

async function start(workers: number, env: Record<string, string> = {}, script = METRICS_APP): Promise<Started> {
  const port = await freePort();
  // Hung workers are not replaced during these tests: what a scrape does around them is the point.
  const options = JSON.stringify({ workers, unresponsiveMs: 0, ...JSON.parse(env.FIXTURE_OPTIONS ?? '{}') });
  const app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: String(workers), ...env, FIXTURE_OPTIONS: options }, script);
  running = app;
  return { app, port, workers: await app.waitForReady(workers) };
}

afterEach(() => {
  for (const pid of stopped) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // gone
    }
  }
  stopped.clear();
  running?.killGroup();
  running = undefined;
});

/**
 * One scrape, as Prometheus does it: a fresh connection to the cluster's port. The primary hands it to a
 * worker in turn; one that is stopped or dying cannot answer, and that try is made again.
 */
async function scrape(port: number, { clientTimeoutMs = 5_000, tries = 12 } = {}): Promise<{ scrape: ParsedScrape; ms: number; text: string }> {
  let lastError: unknown;
  for (let i = 0; i < tries; i++) {
    const started = performance.now();
    try {
      const answer = await get(port, '/metrics', clientTimeoutMs);
      const ms = performance.now() - started;
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      return { scrape: parseExposition(answer.body as string), ms, text: answer.body as string };
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** Every live worker of the cluster does `topic` once; resolves once each one has (`workers` of them, if given). */
async function onEveryWorker(port: number, topic: 'hit' | 'observe', value: number, workers?: number): Promise<void> {
  const { status, body } = await get(port, `/all?topic=${topic}&value=${value}`);
  expect(status).toBe(200);
  if (workers !== undefined) expect(body.slots).toHaveLength(workers);
}

describe('metrics of the whole node', () => {
  it('per-worker (default): every worker’s counter with its slot, summing to what the workers counted, next to the default metrics', async () => {
    const { port, workers } = await start(4, { FIXTURE_DEFAULT_METRICS: '1' });
    await onEveryWorker(port, 'hit', 5, 4);
    await onEveryWorker(port, 'hit', 2, 4);

    const { scrape: metrics } = await scrape(port);
    expect(metrics.find('fixture_hits_total', { kind: 'all' }).map((s) => [s.labels.slot, s.value])).toEqual([
      ['0', 7],
      ['1', 7],
      ['2', 7],
      ['3', 7],
    ]);
    expect(metrics.sum('fixture_hits_total')).toBe(28);
    for (const { slot } of workers) {
      expect(metrics.value('nestjs_cluster_scrape_up', { slot: String(slot) })).toBe(1);
      expect(metrics.find('process_cpu_user_seconds_total', { slot: String(slot) })).toHaveLength(1);
    }
    expect(metrics.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(metrics.value('nestjs_cluster_workers_ready')).toBe(4);
    expect(metrics.value('nestjs_cluster_workers_expected')).toBe(4);
  });

  it('aggregate: one series summed over the workers, and histogram buckets merged', async () => {
    const { port } = await start(4, { FIXTURE_METRICS: JSON.stringify({ mode: 'aggregate' }) });
    await onEveryWorker(port, 'hit', 3, 4);
    for (const value of [0.05, 0.3, 0.7, 5]) await onEveryWorker(port, 'observe', value, 4);

    const { scrape: metrics } = await scrape(port);
    expect(metrics.value('fixture_hits_total', { kind: 'all' })).toBe(12);
    expect(metrics.find('fixture_latency_seconds_bucket', { kind: 'all' }).map((s) => [s.labels.le, s.value])).toEqual([
      ['0.1', 4],
      ['0.5', 8],
      ['1', 12],
      ['+Inf', 16],
    ]);
    expect(metrics.value('fixture_latency_seconds_count', { kind: 'all' })).toBe(16);
    expect(metrics.value('fixture_latency_seconds_sum', { kind: 'all' })).toBeCloseTo(4 * 6.05);
    expect(metrics.value('nestjs_cluster_scrape_aggregator', { slot: '0' })).toBe(1);
    expect(metrics.find('fixture_hits_total', { slot: '0' })).toEqual([]);
  });

  it('one worker SIGSTOPped: /metrics answers 200 once its 1 s timeout is up, that slot’s scrape_up 0', async () => {
    const { port, workers } = await start(4);
    await onEveryWorker(port, 'hit', 1, 4);
    const hung = workers[2]!;
    process.kill(hung.pid, 'SIGSTOP');
    stopped.add(hung.pid);

    // A scrape that the primary hands to the stopped worker waits with it: the client gives up on that one.
    const { scrape: metrics, ms } = await scrape(port, { clientTimeoutMs: 5_000 });
    // It did not wait for the stopped worker (that one never answers), only for its timeout, and a
    // busy machine's slack.
    expect(ms).toBeLessThan(1_000 + 2_000);
    expect(metrics.value('nestjs_cluster_scrape_up', { slot: '2' })).toBe(0);
    expect(metrics.value('nestjs_cluster_scrape_error', { slot: '2', code: 'CLUSTER_ERR_REQUEST_TIMEOUT' })).toBe(1);
    for (const slot of ['0', '1', '3']) expect(metrics.value('nestjs_cluster_scrape_up', { slot })).toBe(1);
    expect(metrics.find('fixture_hits_total', { slot: '2' })).toEqual([]);
    expect(metrics.sum('fixture_hits_total')).toBe(3);
  });

  it('aggregate, a worker SIGKILLed and replaced: the counters never go down across 20 scrapes', async () => {
    const { app, port, workers } = await start(4, { FIXTURE_METRICS: JSON.stringify({ mode: 'aggregate' }) });
    const victim = workers[2]!;
    const totals: number[] = [];
    for (let round = 0; round < 20; round++) {
      // Around the kill a connection may reach the dying worker: a lost hit is fine, a counter going down is not.
      await onEveryWorker(port, 'hit', 1).catch(() => undefined);
      if (round === 5) process.kill(victim.pid, 'SIGKILL');
      if (round === 8) await app.waitForEvent((e) => e.type === 'ready' && e.slot === 2 && e.pid !== victim.pid, 'the replacement of slot 2');
      const { scrape: metrics } = await scrape(port);
      expect(metrics.value('nestjs_cluster_scrape_aggregator', { slot: '0' })).toBe(1);
      totals.push(metrics.value('fixture_hits_total', { kind: 'all' }));
    }
    const drops = totals.flatMap((total, i) => (i > 0 && total < totals[i - 1]! ? [`${totals[i - 1]} -> ${total} at scrape ${i}`] : []));
    expect(drops).toEqual([]);
    expect(totals[0]).toBe(4);
    const { scrape: last } = await scrape(port);
    expect(last.value('nestjs_cluster_worker_restarts_total', { slot: '2' })).toBe(1);
    expect(last.value('nestjs_cluster_scrape_retired_workers_total')).toBe(1);
    expect(last.value('nestjs_cluster_scrape_up', { slot: '2' })).toBe(1);
  });

  it('histograms with other buckets on one worker give an error series, and the rest of the scrape still answers', async () => {
    const { port } = await start(4, { FIXTURE_METRICS: JSON.stringify({ mode: 'aggregate' }), FIXTURE_ODD_BUCKETS_SLOT: '3' });
    await onEveryWorker(port, 'observe', 0.3, 4);
    await onEveryWorker(port, 'hit', 1, 4);

    const { scrape: metrics } = await scrape(port);
    expect(metrics.value('nestjs_cluster_metrics_merge_errors', { metric: 'fixture_latency_seconds', reason: 'buckets' })).toBe(1);
    expect(metrics.value('fixture_latency_seconds_count', { kind: 'all' })).toBe(3); // slots 0 to 2 agree on the buckets
    expect(metrics.value('fixture_hits_total', { kind: 'all' })).toBe(4);
    for (const slot of ['0', '1', '2', '3']) expect(metrics.value('nestjs_cluster_scrape_up', { slot })).toBe(1);
  });

  it('shows the cluster’s lifecycle: rolling restarts, the leader, restarts per slot', async () => {
    const { app, port } = await start(2);
    app.signal('SIGHUP');
    await app.waitForEvent((e) => e.type === 'rolling-restart' && e.phase === 'done', 'the rolling restart to finish');
    const { scrape: metrics } = await scrape(port);
    expect(metrics.value('nestjs_cluster_rolling_restarts_total', { outcome: 'started' })).toBe(1);
    expect(metrics.value('nestjs_cluster_rolling_restarts_total', { outcome: 'done' })).toBe(1);
    expect(metrics.value('nestjs_cluster_rolling_restart_in_progress')).toBe(0);
    const leader = metrics.find('nestjs_cluster_leader');
    expect(leader).toHaveLength(1);
    expect(['0', '1']).toContain(leader[0]!.labels.slot);
    expect(metrics.value('nestjs_cluster_leader_epoch')).toBeGreaterThanOrEqual(2);
    expect(metrics.find('nestjs_cluster_worker_restarts_total').map((s) => s.value)).toEqual([0, 0]);
    expect(metrics.value('nestjs_cluster_crash_loop')).toBe(0);
  });

  it('answers for the whole node through @willsoto/nestjs-prometheus’s controller, with its own metric providers (the docs’ recipe)', async () => {
    const { port } = await start(2, {}, WILLSOTO_APP);
    // Each request lands on one worker: count until both have, tallying who counted what.
    const counted = new Map<string, number>();
    for (let i = 0; i < 60 && (counted.size < 2 || i < 6); i++) {
      const { body } = await get(port, '/count?n=1');
      const slot = String((body as { slot: number }).slot);
      counted.set(slot, (counted.get(slot) ?? 0) + 1);
    }
    expect(counted.size).toBe(2);
    const { scrape: metrics } = await scrape(port);
    const bySlot = Object.fromEntries(metrics.find('fixture_orders_total', {}).map((s) => [s.labels.slot, s.value]));
    expect(bySlot).toEqual(Object.fromEntries(counted));
    expect(metrics.find('nestjs_cluster_scrape_up', {}).map((s) => s.value)).toEqual([1, 1]);
  });
});
