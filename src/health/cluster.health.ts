import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { ClusterService } from '../cluster.service.js';

/** The request/reply topic every worker answers with its vitals. */
export const VITALS_TOPIC = 'nestjs-cluster.vitals';

/** What one worker reports about itself to `checkWorkers`. */
export interface WorkerVitals {
  slot: number;
  pid: number;
  /** Its `listen` resolved and it is not draining. */
  ready: boolean;
  draining: boolean;
  uptimeMs: number;
  rssMb: number;
  heapUsedMb: number;
  /** 99th percentile of event-loop delay since the previous check (or since start). */
  eventLoopDelayP99Ms: number;
}

export interface ClusterHealthOptions {
  /** Fewest ready workers that count as healthy. Default: every slot. */
  minWorkers?: number;
}

export interface CheckWorkersOptions {
  /**
   * How long each worker has to answer.
   * @default 1000
   */
  timeoutMs?: number;
}

const MB = 1024 * 1024;
/** The delay monitor samples every this many ms; each sample includes that interval itself. */
const LOOP_SAMPLE_MS = 20;
const round = (n: number) => Math.round(n * 10) / 10;

/**
 * Terminus health indicators that see the whole cluster, not just the worker the probe reached.
 *
 * @example
 * ```ts
 * @Get('health') @HealthCheck()
 * live() { return this.health.check([() => this.cluster.isHealthy('cluster')]); }
 *
 * @Get('health/ready') @HealthCheck()
 * ready() { return this.health.check([() => this.cluster.isAcceptingTraffic('traffic')]); }
 * ```
 */
@Injectable()
export class ClusterHealthIndicator implements OnModuleInit, OnModuleDestroy {
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  private unregister?: () => void;

  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly cluster: ClusterService,
  ) {}

  onModuleInit(): void {
    this.loopDelay.enable();
    this.unregister = this.cluster.handle(VITALS_TOPIC, () => this.vitals());
  }

  onModuleDestroy(): void {
    this.loopDelay.disable();
    this.unregister?.();
  }

  /**
   * About this node. Up with `{ alive, expected, restarts }` while at least `minWorkers` slots (default: all) have a
   * ready worker; down below that, or once the crash-loop cap was reached. Also shows the slots whose
   * worker stopped answering (`unresponsive`, being replaced), the ones whose message queue is full
   * (`congested`), and the messages the primary dropped (`dropped`, by reason).
   */
  isHealthy<const Key extends string>(key: Key, options: ClusterHealthOptions = {}): HealthIndicatorResult<Key> {
    const indicator = this.indicators.check(key);
    const { expectedWorkers: expected, crashLoop, dropped } = this.cluster.state();
    const restartsBySlot = new Map<number, number>();
    const readySlots = new Set<number>();
    const unresponsive: number[] = [];
    const congested: number[] = [];
    const node = this.cluster.self.node;
    for (const worker of this.cluster.workers()) {
      if (worker.node !== node) continue; // the other nodes' health is theirs to report
      restartsBySlot.set(worker.slot, worker.restarts);
      if (worker.state === 'ready') readySlots.add(worker.slot);
      if (worker.state === 'unresponsive') unresponsive.push(worker.slot);
      if (worker.congested) congested.push(worker.slot);
    }
    const alive = readySlots.size;
    const restarts = [...restartsBySlot.values()].reduce((sum, n) => sum + n, 0);
    const minWorkers = options.minWorkers ?? expected;
    const data = { alive, expected, restarts, minWorkers, crashLoop, unresponsive, congested, dropped };
    return alive < minWorkers || crashLoop ? indicator.down(data) : indicator.up(data);
  }

  /**
   * Down from the moment this worker begins to drain, or its node begins to stop (SIGTERM to the
   * primary; with `shutdown.delayMs` the worker still serves for that long): for readiness probes.
   */
  isAcceptingTraffic<const Key extends string>(key: Key): HealthIndicatorResult<Key> {
    const indicator = this.indicators.check(key);
    const draining = this.cluster.draining;
    const stopping = this.cluster.state().stopping === true;
    const data = { slot: this.cluster.self.slot, pid: this.cluster.self.pid, draining, stopping };
    return draining || stopping ? indicator.down(data) : indicator.up(data);
  }

  /**
   * The link to the other nodes (`CLUSTER_REDIS_URL`): up with `{ transport, node, nodes }` (the nodes
   * seen, this one included); down while the link is down. A cluster of one node (`transport: 'none'`)
   * is up: there is nothing to reach.
   */
  isTransportUp<const Key extends string>(key: Key): HealthIndicatorResult<Key> {
    const indicator = this.indicators.check(key);
    const transport = this.cluster.state().transport ?? 'none';
    const data = { transport, node: this.cluster.self.node, nodes: this.cluster.nodes().map((n) => n.node) };
    return transport === 'down' ? indicator.down(data) : indicator.up(data);
  }

  /**
   * Asks every worker of this node for its vitals over the cluster's request/reply and aggregates them
   * by slot; down if a slot has no ready worker or one does not answer within `timeoutMs`.
   */
  async checkWorkers<const Key extends string>(key: Key, options: CheckWorkersOptions = {}): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.indicators.check(key);
    const { replies, missing, errors } = await this.cluster.requestAll<WorkerVitals>(VITALS_TOPIC, null, {
      timeoutMs: options.timeoutMs ?? 1_000,
      scope: 'node',
    });
    const expected = this.cluster.state().expectedWorkers;
    const workers: Record<number, WorkerVitals | { error: string }> = {};
    for (const { slot, data } of replies) workers[slot] = data;
    for (const { slot, error } of errors) workers[slot] = { error: error.message };
    const unanswered = Array.from({ length: expected }, (_, slot) => slot).filter((slot) => !replies.some((r) => r.slot === slot));
    const notReady = replies.filter((r) => !r.data.ready).map((r) => r.slot);
    const allMissing = new Set([...missing.map((m) => m.slot), ...unanswered]);
    const data = { expected, workers, missing: [...allMissing].sort((a, b) => a - b), notReady };
    return data.missing.length > 0 || notReady.length > 0 ? indicator.down(data) : indicator.up(data);
  }

  private vitals(): WorkerVitals {
    const { node, slot, pid } = this.cluster.self;
    const self = this.cluster.workers().find((w) => w.pid === pid && w.node === node);
    const memory = process.memoryUsage();
    const p99 = this.loopDelay.percentile(99) / 1e6 - LOOP_SAMPLE_MS;
    this.loopDelay.reset();
    const draining = this.cluster.draining;
    return {
      slot,
      pid,
      ready: self?.state === 'ready' && !draining,
      draining,
      uptimeMs: Math.round(process.uptime() * 1000),
      rssMb: round(memory.rss / MB),
      heapUsedMb: round(memory.heapUsed / MB),
      eventLoopDelayP99Ms: round(Number.isFinite(p99) ? Math.max(0, p99) : 0),
    };
  }
}
