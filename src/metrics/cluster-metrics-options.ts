import { register, Registry } from 'prom-client';
import { ClusterConfigError } from '../cluster.errors.js';
import { MAX_METRICS_TIMEOUT_MS, MAX_RETAIN_MS, METRICS_DEFAULTS } from './cluster-metrics.constants.js';
import type { ClusterMetricsModuleOptions, ResolvedClusterMetricsOptions } from './cluster-metrics-options.interface.js';

const SETTING = 'ClusterMetricsModule option';
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** A route: a slash, then the characters a URL path may hold, no query or fragment. */
const ROUTE = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;

/** Applies the defaults and checks every option, naming the one that is wrong, its value, and what is allowed. */
export function resolveMetricsOptions(options: ClusterMetricsModuleOptions = {}): ResolvedClusterMetricsOptions {
  if (typeof options !== 'object' || options === null) throw new ClusterConfigError('ClusterMetricsModule options', options, 'an object');
  const { mode = METRICS_DEFAULTS.mode, timeoutMs = METRICS_DEFAULTS.timeoutMs, retainMs = METRICS_DEFAULTS.retainMs } = options;
  const { slotLabel = METRICS_DEFAULTS.slotLabel, registry = register } = options;
  if (mode !== 'per-worker' && mode !== 'aggregate') throw new ClusterConfigError(`${SETTING} mode`, mode, "'per-worker' or 'aggregate'");
  wholeNumber('timeoutMs', timeoutMs, 1, MAX_METRICS_TIMEOUT_MS);
  wholeNumber('retainMs', retainMs, 0, MAX_RETAIN_MS);
  if (typeof slotLabel !== 'string' || !LABEL_NAME.test(slotLabel) || slotLabel.startsWith('__') || slotLabel === 'le' || slotLabel === 'quantile') {
    throw new ClusterConfigError(`${SETTING} slotLabel`, slotLabel, 'a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not __*, le or quantile)');
  }
  const registries = Array.isArray(registry) ? [...(registry as readonly Registry[])] : [registry as Registry];
  if (registries.length === 0 || !registries.every(isRegistry)) {
    throw new ClusterConfigError(`${SETTING} registry`, describe(registry), 'a prom-client Registry (or an array of them) with getMetricsAsJSON()');
  }
  return { mode, timeoutMs, retainMs, slotLabel, registries };
}

/** The route of the controller: `false` for none, else a path such as `/metrics`. */
export function resolveMetricsPath(path: unknown): string | false {
  if (path === false) return false;
  if (path === undefined) return METRICS_DEFAULTS.path;
  const route = typeof path === 'string' && !path.startsWith('/') ? `/${path}` : path;
  if (typeof route !== 'string' || route.length > 1024 || !ROUTE.test(route) || route === '/') {
    throw new ClusterConfigError(`${SETTING} path`, path, "a URL path such as '/metrics' (no query or fragment), or false for no controller");
  }
  return route;
}

function wholeNumber(name: string, value: unknown, min: number, max: number): void {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw new ClusterConfigError(`${SETTING} ${name}`, value, `a whole number of ms from ${min} to ${max}`);
  }
}

/** Duck-typed: the user's prom-client may be another copy than ours. */
function isRegistry(value: unknown): value is Registry {
  return value instanceof Registry || (typeof value === 'object' && value !== null && typeof (value as Registry).getMetricsAsJSON === 'function');
}

function describe(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Array.isArray(value) ? value.map(describe) : `an object without getMetricsAsJSON() (${value.constructor?.name ?? 'Object'})`;
}
