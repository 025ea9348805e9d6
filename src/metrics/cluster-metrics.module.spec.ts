import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Counter, Registry } from 'prom-client';
import { Subject } from 'rxjs';
import { ClusterModule } from '../cluster.module.js';
import { ClusterService } from '../cluster.service.js';
import { ClusterConfigError, RequestTimeoutError } from '../cluster.errors.js';
import { CLUSTER_DEFAULTS } from '../cluster-options.js';
import type { ClusterEvent } from '../interfaces/cluster-event.interface.js';
import type { WorkerInfo } from '../interfaces/worker-info.interface.js';
import { LocalTransport } from '../transports/local.transport.js';
import { METRICS_SCRAPE_TOPIC, METRICS_TOPIC, PROMETHEUS_CONTENT_TYPE } from './cluster-metrics.constants.js';
import { ClusterMetricsModule } from './cluster-metrics.module.js';
import { ClusterMetricsService } from './cluster-metrics.service.js';
import { parseExposition } from './exposition.spec-helper.js';
import { toWorkerMetrics, type MetricFamilyJson, type WorkerMetrics } from './worker-metrics.js';

/** A standalone app (one process is the cluster) with the given imports, listening on 127.0.0.1. */
async function standaloneApp(imports: unknown[], controllers: Array<new (...args: never[]) => unknown> = []): Promise<INestApplication> {
  const transport = new LocalTransport({ node: 'n1', id: 0, slot: 0, pid: process.pid }, 'json', CLUSTER_DEFAULTS.messaging);
  @Module({ imports: [ClusterModule.forRoot({ transport, isGlobal: true }), ...(imports as never[])], controllers })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return app;
}

async function get(app: INestApplication, path: string): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(`${await app.getUrl()}${path}`);
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

function registryWithHits(n: number): Registry {
  const registry = new Registry();
  new Counter({ name: 'hits_total', help: 'Hits', registers: [registry] }).inc(n);
  return registry;
}

describe('ClusterMetricsModule', () => {
  it('serves the node’s metrics at /metrics, with the scrape’s and the cluster’s own series', async () => {
    const app = await standaloneApp([ClusterMetricsModule.forRoot({ registry: registryWithHits(3) })]);
    const { status, type, text } = await get(app, '/metrics');
    expect(status).toBe(200);
    expect(type).toBe(PROMETHEUS_CONTENT_TYPE);
    const scrape = parseExposition(text);
    expect(scrape.value('hits_total', { slot: '0' })).toBe(3);
    expect(scrape.value('nestjs_cluster_scrape_up', { slot: '0' })).toBe(1);
    expect(scrape.value('nestjs_cluster_workers_expected')).toBe(1);
    expect(scrape.value('nestjs_cluster_workers_ready')).toBe(1);
    expect(scrape.value('nestjs_cluster_leader', { node: 'n1', slot: '0' })).toBe(1);
    expect(scrape.value('nestjs_cluster_rolling_restarts_total', { outcome: 'done' })).toBe(0);
    expect(scrape.types.get('nestjs_cluster_worker_restarts_total')).toBe('counter');
    expect(scrape.value('nestjs_cluster_scrape_duration_seconds')).toBeGreaterThanOrEqual(0);
    await app.close();
  });

  it('serves at another path, or at none, and lets another module’s controller serve scrape()', async () => {
    @Controller()
    class OwnController {
      constructor(private readonly metrics: ClusterMetricsService) {}

      @Get('own')
      async own(): Promise<string> {
        return (await this.metrics.scrape()).body;
      }
    }
    const moved = await standaloneApp([ClusterMetricsModule.forRoot({ path: 'internal/metrics', registry: registryWithHits(1) })]);
    expect((await get(moved, '/internal/metrics')).status).toBe(200);
    expect((await get(moved, '/metrics')).status).toBe(404);
    await moved.close();

    const none = await standaloneApp([ClusterMetricsModule.forRoot({ path: false, isGlobal: true, registry: registryWithHits(2) })], [OwnController]);
    expect((await get(none, '/metrics')).status).toBe(404);
    expect(parseExposition((await get(none, '/own')).text).value('hits_total', { slot: '0' })).toBe(2);
    await none.close();
  });

  it('takes its options from a factory, and fails at startup on a bad one', async () => {
    const app = await standaloneApp([
      ClusterMetricsModule.forRootAsync({ useFactory: () => ({ mode: 'aggregate' as const, registry: registryWithHits(5) }) }),
    ]);
    const scrape = parseExposition((await get(app, '/metrics')).text);
    expect(scrape.value('hits_total')).toBe(5);
    expect(scrape.value('nestjs_cluster_scrape_aggregator', { slot: '0' })).toBe(1);
    expect(scrape.value('nestjs_cluster_scrape_fallback')).toBe(0);
    await app.close();

    await expect(standaloneApp([ClusterMetricsModule.forRootAsync({ useFactory: () => ({ timeoutMs: -5 }) })])).rejects.toThrow(ClusterConfigError);
    expect(() => ClusterMetricsModule.forRoot({ path: '/metrics?x' })).toThrow(ClusterConfigError);
  });
});

/** A ClusterService as seen from slot 1 of a node of two, whose slot 0 does not answer. */
function silentSlot0() {
  const self = { node: 'n1', id: 2, slot: 1, pid: 201 };
  const worker = (slot: number, pid: number): WorkerInfo => ({
    node: 'n1',
    id: slot + 1,
    slot,
    pid,
    state: 'ready',
    startedAt: 0,
    readyAt: 0,
    restarts: 0,
    congested: false,
  });
  const requests: Array<{ topic: string; to: unknown }> = [];
  const fake = {
    self,
    events$: new Subject<ClusterEvent>(),
    workers: () => [worker(0, 200), worker(1, 201)],
    state: () => ({ expectedWorkers: 2, crashLoop: false, dropped: { malformed: 0, 'unexpected-reply': 0, 'queue-full': 0 } }),
    leader: () => null,
    handle: () => () => undefined,
    request: (topic: string, _data: unknown, options: { to: number; timeoutMs: number }) => {
      requests.push({ topic, to: options.to });
      return Promise.reject(new RequestTimeoutError(topic, options.to, options.timeoutMs));
    },
  };
  return { fake, requests };
}

describe('ClusterMetricsService in aggregate mode', () => {
  it('aggregates a scrape itself when the aggregating slot does not answer, says so, and passes that worker over next time', async () => {
    const { fake, requests } = silentSlot0();
    const moduleRef = await Test.createTestingModule({
      imports: [ClusterMetricsModule.forRoot({ mode: 'aggregate', registry: registryWithHits(4), path: false })],
    })
      .useMocker((token) => (token === ClusterService ? fake : undefined))
      .compile();
    const metrics = moduleRef.get(ClusterMetricsService);

    const first = parseExposition((await metrics.scrape()).body);
    expect(requests.map((r) => r.topic)).toEqual([METRICS_SCRAPE_TOPIC, METRICS_TOPIC]);
    expect(first.value('nestjs_cluster_scrape_fallback', { unreachable_slot: '0', code: 'CLUSTER_ERR_REQUEST_TIMEOUT' })).toBe(1);
    expect(first.value('nestjs_cluster_scrape_aggregator', { slot: '1' })).toBe(1);
    expect(first.value('nestjs_cluster_scrape_up', { slot: '0' })).toBe(0);
    expect(first.value('nestjs_cluster_scrape_up', { slot: '1' })).toBe(1);
    expect(first.value('nestjs_cluster_scrape_error', { slot: '0', code: 'CLUSTER_ERR_REQUEST_TIMEOUT' })).toBe(1);
    expect(first.value('hits_total')).toBe(4);

    requests.length = 0;
    const second = parseExposition((await metrics.scrape()).body);
    expect(requests.map((r) => r.topic)).toEqual([METRICS_TOPIC]);
    expect(second.value('nestjs_cluster_scrape_fallback')).toBe(0);
  });
});

/** Slot 1 of a node of two whose slot 0 runs an earlier version: it answers whole, and hands out whole text. */
function earlierSlot0(answer: (topic: string, data: unknown) => unknown) {
  const { fake } = silentSlot0();
  const handlers = new Map<string, (data: unknown) => unknown>();
  const sent: unknown[] = [];
  return {
    handlers,
    sent,
    fake: {
      ...fake,
      handle: (topic: string, handler: (data: unknown) => unknown) => {
        handlers.set(topic, handler);
        return () => handlers.delete(topic);
      },
      request: (topic: string, data: unknown) => {
        sent.push(data);
        return Promise.resolve(answer(topic, data));
      },
    },
  };
}

async function serviceWith(fake: object, options: Parameters<typeof ClusterMetricsModule.forRoot>[0]): Promise<ClusterMetricsService> {
  const moduleRef = await Test.createTestingModule({ imports: [ClusterMetricsModule.forRoot({ ...options, path: false })] })
    .useMocker((token) => (token === ClusterService ? fake : undefined))
    .compile();
  const service = moduleRef.get(ClusterMetricsService);
  service.onModuleInit();
  return service;
}

describe('ClusterMetricsService during a rolling deploy', () => {
  it('takes the whole answer of a worker of an earlier version, and sends one the whole answer it asks for', async () => {
    const earlier = (await registryWithHits(7).getMetricsAsJSON()) as MetricFamilyJson[];
    const { fake, handlers, sent } = earlierSlot0(() => toWorkerMetrics(200, earlier, { name: 'slot', value: 0 }));
    const service = await serviceWith(fake, { registry: registryWithHits(2) });
    const scrape = parseExposition((await service.scrape()).body);
    expect(sent).toEqual([{ held: null, slotLabel: 'slot' }]);
    expect(scrape.value('hits_total', { slot: '0' })).toBe(7);
    expect(scrape.value('hits_total', { slot: '1' })).toBe(2);

    const whole = (await handlers.get(METRICS_TOPIC)!({ slotLabel: 'slot' })) as WorkerMetrics;
    expect(whole.families[0]!.lines).toBe('hits_total{slot="1"} 2\n');
    const compact = (await handlers.get(METRICS_TOPIC)!({ held: null })) as { values: unknown[] };
    expect(compact.values).toEqual([2]);
  });

  it('aggregate: uses the whole text an aggregating worker of an earlier version answers', async () => {
    const { fake, handlers } = earlierSlot0((topic) => (topic === METRICS_SCRAPE_TOPIC ? 'hits_total 40\n' : Promise.reject(new Error('no'))));
    const service = await serviceWith(fake, { mode: 'aggregate', registry: registryWithHits(3) });
    expect((await service.scrape()).body).toBe('hits_total 40\n');
    // And answers a forwarding worker of an earlier version (no `held`) with the whole text.
    const text = (await handlers.get(METRICS_SCRAPE_TOPIC)!(null)) as string;
    expect(parseExposition(text).value('hits_total')).toBe(3);
  });
});
