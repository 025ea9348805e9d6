/**
 * Runs the longest suites first, so that with several Jest workers the last minutes are not one long
 * suite running alone. Jest orders by the durations of earlier runs, which a clean clone (CI) does not
 * have: it would fall back on file size, and short files that boot clusters for minutes would start
 * last. Seconds from a run on 2 busy cores (only the order matters); a suite not listed counts as short.
 */
import Sequencer from '@jest/test-sequencer';

const SECONDS = {
  nodes: 139,
  websockets: 100,
  resilience: 90,
  'app-kinds': 103,
  hardening: 98,
  'no-hang': 55,
  standby: 70,
  'leadership-nodes': 76,
  'docs-recipes': 71,
  control: 94,
  'sticky-modes': 87,
  schedule: 48,
  package: 49,
  metrics: 48,
  'worker-logs': 41,
  leadership: 33,
  'cluster-lifecycle': 31,
  'graceful-shutdown': 29,
  partition: 32,
  'schedule-warning': 21,
  'redis-conformance': 21,
  'shutdown-delay': 21,
  messaging: 19,
  'nats-conformance': 18,
  'config-errors': 17,
  'websockets-nodes': 34,
  'memory-node-link': 21,
  'nats-node-link': 19,
  'redis-node-link': 19,
  'crash-loop': 13,
  'ipc-conformance': 11,
  sample: 10,
};

const secondsOf = (path) => SECONDS[/([^/\\]+)\.e2e-spec\.ts$/.exec(path)?.[1]] ?? 0;

// A CommonJS module: its class is `exports.default`.
const Base = Sequencer.default ?? Sequencer;

export default class SlowFirstSequencer extends Base {
  sort(tests) {
    return [...tests].sort((a, b) => secondsOf(b.path) - secondsOf(a.path) || a.path.localeCompare(b.path));
  }
}
