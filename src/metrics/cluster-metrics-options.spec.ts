import { register, Registry } from 'prom-client';
import { ClusterConfigError } from '../cluster.errors.js';
import { resolveMetricsOptions, resolveMetricsPath } from './cluster-metrics-options.js';

describe('resolveMetricsOptions', () => {
  it('defaults to per-worker, 1 s per worker, prom-client’s global registry', () => {
    expect(resolveMetricsOptions()).toEqual({ mode: 'per-worker', timeoutMs: 1_000, retainMs: 60_000, slotLabel: 'slot', registries: [register] });
  });

  it('takes one registry or several', () => {
    const a = new Registry();
    const b = new Registry();
    expect(resolveMetricsOptions({ registry: a }).registries).toEqual([a]);
    expect(resolveMetricsOptions({ registry: [a, b], mode: 'aggregate' }).registries).toEqual([a, b]);
  });

  it.each([
    [{ mode: 'sum' }, "Invalid ClusterMetricsModule option mode: \"sum\" is not allowed; expected 'per-worker' or 'aggregate'."],
    [{ timeoutMs: 0 }, 'Invalid ClusterMetricsModule option timeoutMs: 0 is not allowed; expected a whole number of ms from 1 to 60000.'],
    [{ timeoutMs: 1.5 }, 'timeoutMs: 1.5 is not allowed'],
    [{ retainMs: -1 }, 'retainMs: -1 is not allowed; expected a whole number of ms from 0 to 3600000.'],
    [{ slotLabel: 'worker-slot' }, 'slotLabel: "worker-slot" is not allowed; expected a Prometheus label name'],
    [{ slotLabel: 'le' }, 'slotLabel: "le" is not allowed'],
    [{ registry: {} }, 'registry: "an object without getMetricsAsJSON() (Object)" is not allowed'],
    [{ registry: [] }, 'registry: [] is not allowed; expected a prom-client Registry'],
  ])('refuses %j, naming the option, the value and what is allowed', (options, message) => {
    expect(() => resolveMetricsOptions(options as never)).toThrow(ClusterConfigError);
    expect(() => resolveMetricsOptions(options as never)).toThrow(message);
  });
});

describe('resolveMetricsPath', () => {
  it('defaults to /metrics, adds the leading slash, and takes false for no controller', () => {
    expect(resolveMetricsPath(undefined)).toBe('/metrics');
    expect(resolveMetricsPath('internal/metrics')).toBe('/internal/metrics');
    expect(resolveMetricsPath(false)).toBe(false);
  });

  it.each([[''], ['/'], ['/metrics?x=1'], ['/a b'], [3], [true]])('refuses %j', (path) => {
    expect(() => resolveMetricsPath(path)).toThrow(
      /Invalid ClusterMetricsModule option path: .* is not allowed; expected a URL path such as '\/metrics'/,
    );
  });
});
