/** The request every worker answers with its own metrics. */
export const METRICS_TOPIC = 'nestjs-cluster.metrics';
/** `aggregate` mode: the request the scraped worker hands a scrape on with, to the node's aggregating worker. */
export const METRICS_SCRAPE_TOPIC = 'nestjs-cluster.metrics.scrape';
/** The Prometheus text format, version 0.0.4: what every scrape answers with. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export const METRICS_DEFAULTS = Object.freeze({
  path: '/metrics',
  mode: 'per-worker' as const,
  timeoutMs: 1_000,
  retainMs: 60_000,
  slotLabel: 'slot',
});

/** The most `timeoutMs` may be: a scrape that waits longer than that is past any scraper's own timeout. */
export const MAX_METRICS_TIMEOUT_MS = 60_000;
export const MAX_RETAIN_MS = 3_600_000;

/** Injection token of the module's options (before defaults). */
export const CLUSTER_METRICS_MODULE_OPTIONS = Symbol('CLUSTER_METRICS_MODULE_OPTIONS');
