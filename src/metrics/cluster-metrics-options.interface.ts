import type { Registry } from 'prom-client';

/**
 * `per-worker`: every worker's series with a `slot` label; Prometheus sums them (`sum without (slot)`)
 * and sees a worker's restart as that series' reset. `aggregate`: one series per label set, summed across
 * the node's workers as prom-client's `AggregatorRegistry` does, with the counters of exited workers kept.
 */
export type ClusterMetricsMode = 'per-worker' | 'aggregate';

/** Options of `ClusterMetricsModule.forRoot` / `forRootAsync`. */
export interface ClusterMetricsModuleOptions {
  /**
   * How the workers' series are combined.
   * @default 'per-worker'
   */
  mode?: ClusterMetricsMode;
  /**
   * How long each worker has to answer a scrape, in ms; a worker that has not answered by then is left out
   * (`nestjs_cluster_scrape_up{slot}` 0) and the scrape answers with the others. 1 to 60000.
   * @default 1000
   */
  timeoutMs?: number;
  /**
   * The registry (or registries) each worker reports. prom-client's global `register` is where
   * `collectDefaultMetrics()`, `new Counter(...)` and `@willsoto/nestjs-prometheus` put metrics.
   * @default prom-client's `register`
   */
  registry?: Registry | readonly Registry[];
  /**
   * `aggregate` mode: how long the last answer of a worker that does not answer (hung, or busy past
   * `timeoutMs`) stands in for it, in ms. After that only its counters and histograms still count (so
   * sums never go down), not its gauges. 0 to 3600000.
   * @default 60000
   */
  retainMs?: number;
  /**
   * `per-worker` mode: the name of the label that tells the workers apart. Change it if your metrics
   * already have a `slot` label.
   * @default 'slot'
   */
  slotLabel?: string;
}

/** A class that builds `ClusterMetricsModuleOptions`, for `forRootAsync({ useClass })`. */
export interface ClusterMetricsOptionsFactory {
  createClusterMetricsOptions(): ClusterMetricsModuleOptions | Promise<ClusterMetricsModuleOptions>;
}

/** Options after defaults and validation. */
export interface ResolvedClusterMetricsOptions {
  readonly mode: ClusterMetricsMode;
  readonly timeoutMs: number;
  readonly registries: readonly Registry[];
  readonly retainMs: number;
  readonly slotLabel: string;
}
