/**
 * Runs the longest suites first, so that with two Jest workers the last minutes are not one long
 * suite running alone. Jest orders by the durations of earlier runs, which a clean clone (CI) does not
 * have: it would fall back on file size, and short files that boot clusters for minutes would start
 * last. Seconds from a CI run on 2 cores; a suite not listed counts as short.
 */
import Sequencer from '@jest/test-sequencer';

const SECONDS = {
  resilience: 93,
  'no-hang': 60,
  schedule: 87,
  hardening: 71,
  'leadership-nodes': 59,
  'app-kinds': 57,
  'sticky-modes': 52,
  redis: 50,
  'cluster-lifecycle': 46,
  websockets: 44,
  'docs-recipes': 37,
  'graceful-shutdown': 34,
  'config-errors': 34,
  metrics: 32,
  partition: 30,
  leadership: 23,
  'schedule-warning': 16,
  'crash-loop': 15,
  sample: 14,
};

const secondsOf = (path) => SECONDS[/([^/\\]+)\.e2e-spec\.ts$/.exec(path)?.[1]] ?? 0;

// A CommonJS module: its class is `exports.default`.
const Base = Sequencer.default ?? Sequencer;

export default class SlowFirstSequencer extends Base {
  sort(tests) {
    return [...tests].sort((a, b) => secondsOf(b.path) - secondsOf(a.path) || a.path.localeCompare(b.path));
  }
}
