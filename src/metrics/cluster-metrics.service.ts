import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { ClusterService } from '../cluster.service.js';
import type { RollingRestartCounts, WorkerInfo, WorkerState } from '../interfaces/worker-info.interface.js';
import { AggregateState, type AggregateScrape, type WorkerAnswer } from './aggregate-state.js';
import type { ClusterMetricsModuleOptions, ResolvedClusterMetricsOptions } from './cluster-metrics-options.interface.js';
import { resolveMetricsOptions } from './cluster-metrics-options.js';
import { CLUSTER_METRICS_MODULE_OPTIONS, METRICS_SCRAPE_TOPIC, METRICS_TOPIC, PROMETHEUS_CONTENT_TYPE } from './cluster-metrics.constants.js';
import { Exposition } from './exposition.js';
import { mergePerWorker, type MergeError } from './metrics-merge.js';
import { TextReceiver, TextSender, type CompactText, type RenderedText } from './rendered-text.js';
import { LayoutStore } from './layout-store.js';
import { isCompactMetrics, MetricsSource, type CompactMetrics } from './metrics-source.js';
import { isWorkerMetrics, toWorkerMetrics, type MetricFamilyJson, type WorkerMetrics } from './worker-metrics.js';

/** What a scrape answers: the Prometheus text format. */
export interface ScrapeResult {
  readonly contentType: string;
  readonly body: string;
}

/**
 * What the gathering worker asks each worker for. With `held` (the layout it holds for that worker, or
 * `null`): a compact answer, values plus the layout if it changed. Without (an earlier version asking, during
 * a rolling deploy): whole lines with this slot label (`per-worker`), or samples (`null`); `slotLabel` is
 * sent along for a worker of that earlier version to answer in kind.
 */
interface MetricsRequest {
  readonly slotLabel?: string;
  readonly held?: string | null;
}

/** A scrape handed to the aggregating worker: `held` names the text between values that the forwarding worker holds. */
interface ForwardRequest {
  readonly held: string | null;
}

/** A worker of this node that did not answer the scrape, and why (a `ClusterError` code). */
interface ScrapeFailure {
  readonly slot: number;
  readonly code: string;
}

interface Gathered {
  readonly answers: WorkerAnswer[];
  readonly failures: ScrapeFailure[];
  /** Slots that should have answered: the configured ones and every one listed. */
  readonly slots: number[];
}

/** Why this worker aggregated a scrape itself, in `aggregate` mode, instead of the node's aggregating worker. */
interface Fallback {
  readonly slot: number;
  readonly code: string;
}

/** The aggregating worker gets this much longer than the workers it waits for, to merge and answer. */
const FORWARD_MARGIN_MS = 1_000;
/** A worker that could not aggregate a scrape is passed over this long (unless it is replaced sooner). */
const UNREACHABLE_FOR_MS = 30_000;
const WORKER_STATES: readonly WorkerState[] = ['starting', 'ready', 'draining', 'unresponsive'];
const ROLLING_OUTCOMES = ['started', 'done', 'aborted'] as const;

/**
 * Prometheus metrics of the whole node, from whichever worker a scrape reaches: it asks every worker of
 * its node for its registry (each has `timeoutMs` to answer) and answers with what it has. Nothing runs
 * per HTTP request; the work happens when Prometheus scrapes.
 *
 * @example
 * ```ts
 * // your own controller, instead of the module's
 * @Get('metrics')
 * async metrics(@Res({ passthrough: true }) res: Response): Promise<string> {
 *   const { contentType, body } = await this.clusterMetrics.scrape();
 *   res.setHeader('Content-Type', contentType);
 *   return body;
 * }
 * ```
 */
@Injectable()
export class ClusterMetricsService implements OnModuleInit, OnModuleDestroy {
  private readonly options: ResolvedClusterMetricsOptions;
  private readonly state: AggregateState;
  private readonly source: MetricsSource;
  private readonly layouts: LayoutStore;
  /** `aggregate` mode: the aggregated text's parts, as the aggregating worker sends them and as a forwarding worker holds them. */
  private readonly textSender: TextSender;
  private readonly textReceiver = new TextReceiver();
  private readonly unregister: Array<() => void> = [];
  private readonly rollsSeen = { started: 0, done: 0, aborted: 0 };
  /** Aggregating workers that failed to answer: slot to the pid that failed, and until when it is passed over. */
  private readonly unreachable = new Map<number, { pid: number; until: number }>();
  private events?: Subscription;

  constructor(
    private readonly cluster: ClusterService,
    @Inject(CLUSTER_METRICS_MODULE_OPTIONS) options: ClusterMetricsModuleOptions,
  ) {
    this.options = resolveMetricsOptions(options);
    this.state = new AggregateState(this.options.retainMs);
    this.source = new MetricsSource(cluster.self.pid);
    this.textSender = new TextSender(cluster.self.pid);
    this.layouts = new LayoutStore(this.options.mode === 'per-worker' ? this.options.slotLabel : undefined);
  }

  onModuleInit(): void {
    this.unregister.push(
      this.cluster.handle(METRICS_TOPIC, (request: MetricsRequest | null): Promise<CompactMetrics | WorkerMetrics> =>
        request !== null && typeof request === 'object' && 'held' in request ? this.answer(request.held) : this.collect(request?.slotLabel),
      ),
    );
    if (this.options.mode === 'aggregate') {
      this.unregister.push(
        this.cluster.handle(METRICS_SCRAPE_TOPIC, async (request: ForwardRequest | null): Promise<CompactText | string> => {
          const rendered = await this.aggregateHere();
          // Without `held`: an earlier version forwarded the scrape, and takes the text whole.
          if (request === null || typeof request !== 'object' || !('held' in request)) return rendered.toString();
          return this.textSender.answer(rendered, typeof request.held === 'string' ? request.held : undefined);
        }),
      );
    }
    // Only for a transport whose state() does not count rolling restarts: this worker's own count.
    this.events = this.cluster.events$.subscribe((event) => {
      if (event.type !== 'rolling-restart' || event.node !== this.cluster.self.node) return;
      if (event.phase === 'start') this.rollsSeen.started += 1;
      else if (event.phase === 'done') this.rollsSeen.done += 1;
      else if (event.phase === 'aborted') this.rollsSeen.aborted += 1;
    });
  }

  onModuleDestroy(): void {
    for (const unregister of this.unregister.splice(0)) unregister();
    this.events?.unsubscribe();
  }

  /**
   * The metrics of every worker of this node, in the Prometheus text format, plus the scrape's own
   * series and the cluster's lifecycle. Never rejects for a worker that is slow, hung or gone: its slot
   * shows `nestjs_cluster_scrape_up` 0.
   */
  async scrape(): Promise<ScrapeResult> {
    const body = this.options.mode === 'aggregate' ? await this.scrapeAggregate() : await this.scrapePerWorker();
    return { contentType: PROMETHEUS_CONTENT_TYPE, body };
  }

  /**
   * This worker's own metrics, as it answers a scrape: with `slotLabel`, sample lines that carry it
   * (`per-worker` mode); without, samples to merge (`aggregate` mode).
   */
  async collect(slotLabel?: string): Promise<WorkerMetrics> {
    const json = await this.registryJson();
    const { pid, slot } = this.cluster.self;
    return toWorkerMetrics(pid, json, typeof slotLabel === 'string' ? { name: slotLabel, value: slot } : undefined);
  }

  /** This worker's values for a scrape, with its layout unless the asker holds it (`held`). */
  private async answer(held: unknown): Promise<CompactMetrics> {
    return this.source.answer(await this.registryJson(), typeof held === 'string' ? held : undefined);
  }

  private async registryJson(): Promise<MetricFamilyJson[]> {
    const lists = await Promise.all(this.options.registries.map((registry) => registry.getMetricsAsJSON()));
    return (lists.length === 1 ? lists[0]! : lists.flat()) as MetricFamilyJson[];
  }

  private async scrapePerWorker(): Promise<string> {
    const started = performance.now();
    const gathered = await this.gather(this.options.slotLabel);
    const merged = mergePerWorker(gathered.answers);
    const out = new Exposition();
    this.scrapeSeries(out, gathered, merged.errors, started);
    this.lifecycleSeries(out);
    return merged.text + out.toString();
  }

  /**
   * `aggregate` mode: the node's lowest ready slot aggregates every scrape, so that its memory (the totals
   * of exited workers, the last answer of silent ones) is the one every scrape sees.
   */
  private async scrapeAggregate(): Promise<string> {
    const target = this.aggregatorSlot();
    if (target === undefined || target.slot === this.cluster.self.slot) return (await this.aggregateHere()).toString();
    try {
      // Texts not held (they changed twice while the answer was on its way): asked for once more, whole.
      return (await this.forward(target.slot, this.textReceiver.held())) ?? (await this.forward(target.slot, null)) ?? invalid();
    } catch (error) {
      this.unreachable.set(target.slot, { pid: target.pid, until: Date.now() + UNREACHABLE_FOR_MS });
      return (await this.aggregateHere({ slot: target.slot, code: codeOf(error) })).toString();
    }
  }

  /** Hands the scrape to the aggregating worker; it sends the text between values only if this worker does not hold it. */
  private async forward(slot: number, held: string | null): Promise<string | undefined> {
    const request: ForwardRequest = { held };
    const answer = await this.cluster.request<unknown>(METRICS_SCRAPE_TOPIC, request, {
      to: slot,
      timeoutMs: this.options.timeoutMs + FORWARD_MARGIN_MS,
    });
    return typeof answer === 'string' ? answer : this.textReceiver.read(answer);
  }

  private async aggregateHere(fallback?: Fallback): Promise<RenderedText> {
    const started = performance.now();
    const gathered = await this.gather();
    const live = new Map<number, number>();
    for (const worker of this.localWorkers()) live.set(worker.pid, worker.slot);
    const merged = this.state.scrape(live, gathered.answers);
    const out = new Exposition();
    this.scrapeSeries(out, gathered, merged.errors, started);
    this.aggregateSeries(out, merged, fallback);
    this.lifecycleSeries(out);
    return merged.rendered.text(out.toString());
  }

  /** The lowest ready slot of this node, passing over one that recently failed to aggregate (same process). */
  private aggregatorSlot(): { slot: number; pid: number } | undefined {
    const now = Date.now();
    for (const worker of this.localWorkers()) {
      if (worker.state !== 'ready') continue;
      const failed = this.unreachable.get(worker.slot);
      if (failed && failed.pid === worker.pid && failed.until > now) continue;
      return { slot: worker.slot, pid: worker.pid };
    }
    return undefined;
  }

  /** Asks every worker of this node for its metrics (this one answers in-process) and waits at most `timeoutMs`. */
  private async gather(slotLabel?: string): Promise<Gathered> {
    const self = this.cluster.self;
    const slots = new Set<number>();
    for (let slot = 0; slot < this.cluster.state().expectedWorkers; slot++) slots.add(slot);
    for (const worker of this.localWorkers()) slots.add(worker.slot);
    slots.add(self.slot);
    const listed = new Set(this.localWorkers().map((w) => w.slot));
    const asked = [...listed].filter((slot) => slot !== self.slot);
    this.layouts.retain(slots);
    const request = (slot: number): MetricsRequest => ({ held: this.layouts.held(slot), ...(slotLabel === undefined ? {} : { slotLabel }) });
    // The others first: they work while this worker collects its own.
    const others = asked.map((slot) => this.cluster.request<unknown>(METRICS_TOPIC, request(slot), { to: slot, timeoutMs: this.options.timeoutMs }));
    const settled = await Promise.allSettled([this.answer(this.layouts.held(self.slot)), ...others]);
    const answers: WorkerAnswer[] = [];
    const failures: ScrapeFailure[] = [];
    settled.forEach((outcome, i) => {
      const slot = i === 0 ? self.slot : asked[i - 1]!;
      if (outcome.status === 'rejected') return failures.push({ slot, code: codeOf(outcome.reason) });
      const metrics = this.read(slot, outcome.value);
      if (metrics) answers.push({ slot, metrics });
      else failures.push({ slot, code: 'INVALID_ANSWER' });
    });
    for (const slot of slots) if (!listed.has(slot) && slot !== self.slot) failures.push({ slot, code: 'NO_WORKER' });
    return { answers, failures, slots: [...slots].sort((a, b) => a - b) };
  }

  /** A worker's answer as the merge takes it: compact (values on a held layout), or whole from an earlier version. */
  private read(slot: number, answer: unknown): WorkerMetrics | undefined {
    if (isCompactMetrics(answer)) return this.layouts.expand(slot, answer);
    return isWorkerMetrics(answer) ? answer : undefined;
  }

  private localWorkers(): readonly WorkerInfo[] {
    const node = this.cluster.self.node;
    return this.cluster.workers().filter((w) => w.node === node);
  }

  private scrapeSeries(out: Exposition, { answers, failures, slots }: Gathered, errors: readonly MergeError[], started: number): void {
    const up = new Set(answers.map((a) => a.slot));
    out.gauge(
      'nestjs_cluster_scrape_up',
      'Whether the worker in this slot answered this scrape in time (1) or not (0).',
      slots.map((slot) => [{ slot }, up.has(slot) ? 1 : 0]),
    );
    out.gauge(
      'nestjs_cluster_scrape_error',
      'Why a slot did not answer this scrape: the error code (1 while it is so).',
      failures.map(({ slot, code }) => [{ slot, code }, 1]),
    );
    out.gauge(
      'nestjs_cluster_metrics_merge_errors',
      'Metrics whose series could not be merged in this scrape (other type, other histogram buckets, or the slot label already used): how many workers disagree.',
      errors.map(({ metric, reason, slots }) => [{ metric, reason }, slots.length]),
    );
    out.gauge('nestjs_cluster_scrape_duration_seconds', 'Time this scrape took to gather and merge the workers’ metrics.', [
      [undefined, (performance.now() - started) / 1000],
    ]);
  }

  private aggregateSeries(out: Exposition, merged: AggregateScrape, fallback: Fallback | undefined): void {
    out.gauge('nestjs_cluster_scrape_aggregator', 'The slot that aggregated this scrape (it keeps the totals of exited workers).', [
      [{ slot: this.cluster.self.slot }, 1],
    ]);
    out.gauge(
      'nestjs_cluster_scrape_fallback',
      'Whether the worker the scrape reached aggregated it itself (1), as the aggregating slot did not answer; its totals of exited workers may differ.',
      [[fallback ? { unreachable_slot: fallback.slot, code: fallback.code } : undefined, fallback ? 1 : 0]],
    );
    out.gauge(
      'nestjs_cluster_scrape_snapshot_age_seconds',
      'Age of the last answer that stands in for a worker that did not answer this scrape.',
      merged.reused.map(({ slot, pid, ageMs }) => [{ slot, pid }, ageMs / 1000]),
    );
    out.counter('nestjs_cluster_scrape_retired_workers_total', 'Exited workers whose counters and histograms are kept in the totals.', [
      [undefined, this.state.retiredCount],
    ]);
  }

  /** The cluster's lifecycle, as this node's primary sees it (the same whichever worker answers). */
  private lifecycleSeries(out: Exposition): void {
    const workers = this.localWorkers();
    const state = this.cluster.state();
    const readySlots = new Set(workers.filter((w) => w.state === 'ready').map((w) => w.slot));
    const restarts = new Map<number, number>();
    for (const worker of workers) restarts.set(worker.slot, Math.max(restarts.get(worker.slot) ?? 0, worker.restarts));
    const rolls: RollingRestartCounts = state.rollingRestarts ?? this.rollsSeen;
    const leader = this.cluster.leader();
    out
      .gauge('nestjs_cluster_workers_expected', 'Workers this node keeps running (the configured number of slots).', [
        [undefined, state.expectedWorkers],
      ])
      .gauge('nestjs_cluster_workers_ready', 'Slots of this node with a ready worker.', [[undefined, readySlots.size]])
      .gauge(
        'nestjs_cluster_workers',
        'Workers of this node by state (a slot shows two during a replacement).',
        WORKER_STATES.map((s) => [{ state: s }, workers.filter((w) => w.state === s).length]),
      )
      .counter(
        'nestjs_cluster_worker_restarts_total',
        'Restarts of each slot after an unexpected exit, since the primary started.',
        [...restarts].sort(([a], [b]) => a - b).map(([slot, count]) => [{ slot }, count]),
      )
      .gauge('nestjs_cluster_crash_loop', 'Whether the crash-loop cap was reached and the node is stopping (1) or not (0).', [
        [undefined, state.crashLoop ? 1 : 0],
      ])
      .counter(
        'nestjs_cluster_rolling_restarts_total',
        'Rolling restarts of this node since its primary started, by outcome (started, done, aborted).',
        ROLLING_OUTCOMES.map((outcome) => [{ outcome }, rolls[outcome]]),
      )
      .gauge('nestjs_cluster_rolling_restart_in_progress', 'Whether a rolling restart of this node is running (1) or not (0).', [
        [undefined, rolls.started > rolls.done + rolls.aborted ? 1 : 0],
      ])
      .counter(
        'nestjs_cluster_messages_dropped_total',
        'Messages between workers the primary dropped, by reason.',
        Object.entries(state.dropped).map(([reason, count]) => [{ reason }, count]),
      )
      .gauge(
        'nestjs_cluster_leader',
        'The cluster’s leader (1), by node and slot; absent while there is none.',
        leader ? [[{ node: leader.node, slot: leader.slot }, 1]] : [],
      )
      .gauge(
        'nestjs_cluster_leader_epoch',
        'The epoch of the current leader: it grows with every appointment.',
        leader ? [[undefined, leader.epoch]] : [],
      );
  }
}

function invalid(): never {
  throw Object.assign(new Error('The aggregating worker’s answer is not a scrape'), { code: 'INVALID_ANSWER' });
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'ERROR';
}
