import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AggregateState } from './aggregate-state.js';
import { parseExposition } from './exposition.spec-helper.js';
import { toWorkerMetrics, type WorkerMetrics } from './worker-metrics.js';

/** A worker process with a counter, a gauge and a histogram of its own. */
class FakeWorker {
  readonly registry = new Registry();
  readonly hits = new Counter({ name: 'hits_total', help: 'Hits', registers: [this.registry] });
  readonly inflight = new Gauge({ name: 'inflight', help: 'In flight', registers: [this.registry] });
  readonly latency = new Histogram({ name: 'latency_seconds', help: 'Latency', buckets: [0.1, 1], registers: [this.registry] });

  constructor(
    readonly pid: number,
    readonly slot: number,
  ) {}

  async answer(): Promise<{ slot: number; metrics: WorkerMetrics }> {
    return { slot: this.slot, metrics: toWorkerMetrics(this.pid, await this.registry.getMetricsAsJSON()) };
  }
}

const live = (...workers: FakeWorker[]) => new Map(workers.map((w) => [w.pid, w.slot]));

describe('AggregateState', () => {
  let now = 0;
  const state = () => new AggregateState(60_000, () => now);

  beforeEach(() => (now = 1_000_000));

  it('keeps the counters and histogram buckets of an exited worker, so sums never go down', async () => {
    const aggregate = state();
    const a = new FakeWorker(1, 0);
    let b = new FakeWorker(2, 1);
    a.hits.inc(5);
    b.hits.inc(7);
    b.latency.observe(0.5);
    b.inflight.set(3);
    const first = parseExposition(aggregate.scrape(live(a, b), [await a.answer(), await b.answer()]).text);
    expect(first.value('hits_total')).toBe(12);

    // b is killed and replaced: its replacement starts from zero.
    b = new FakeWorker(3, 1);
    b.hits.inc(1);
    const second = aggregate.scrape(live(a, b), [await a.answer(), await b.answer()]);
    const scrape = parseExposition(second.text);
    expect(scrape.value('hits_total')).toBe(13);
    expect(scrape.value('latency_seconds_bucket', { le: '1' })).toBe(1);
    expect(scrape.value('inflight')).toBe(0); // the exited worker's gauge went with it
    expect(aggregate.retiredCount).toBe(1);
  });

  it('shows a silent worker by its last answer for retainMs, then only its counters', async () => {
    const aggregate = state();
    const a = new FakeWorker(1, 0);
    const b = new FakeWorker(2, 1);
    b.hits.inc(4);
    b.inflight.set(2);
    aggregate.scrape(live(a, b), [await a.answer(), await b.answer()]);

    now += 30_000;
    a.hits.inc(1);
    const silent = aggregate.scrape(live(a, b), [await a.answer()]);
    expect(silent.reused).toEqual([{ slot: 1, pid: 2, ageMs: 30_000, expired: false }]);
    expect(parseExposition(silent.text).value('inflight')).toBe(2);
    expect(parseExposition(silent.text).value('hits_total')).toBe(5);

    now += 31_000;
    const expired = aggregate.scrape(live(a, b), [await a.answer()]);
    expect(expired.reused).toEqual([{ slot: 1, pid: 2, ageMs: 61_000, expired: true }]);
    expect(parseExposition(expired.text).value('hits_total')).toBe(5);
    expect(parseExposition(expired.text).value('inflight')).toBe(0);

    // It answers again: its own values replace the old answer, counted once.
    b.hits.inc(1);
    expect(parseExposition(aggregate.scrape(live(a, b), [await a.answer(), await b.answer()]).text).value('hits_total')).toBe(6);
  });

  it('counts a worker once when a late answer comes after its totals were retired', async () => {
    const aggregate = state();
    const a = new FakeWorker(1, 0);
    const b = new FakeWorker(2, 1);
    b.hits.inc(4);
    aggregate.scrape(live(a, b), [await a.answer(), await b.answer()]);
    aggregate.scrape(live(a), [await a.answer()]); // b exited
    const late = aggregate.scrape(live(a), [await a.answer(), await b.answer()]);
    expect(parseExposition(late.text).value('hits_total')).toBe(4);
  });

  it('never goes down over a run of kills, replacements and silences', async () => {
    const aggregate = state();
    const workers = [0, 1, 2, 3].map((slot) => new FakeWorker(100 + slot, slot));
    let pid = 200;
    let previous = 0;
    for (let round = 0; round < 40; round++) {
      for (const w of workers) w.hits.inc(round % 3);
      if (round % 7 === 3) workers[round % 4] = new FakeWorker(pid++, round % 4);
      const answering = workers.filter((_, i) => (round + i) % 5 !== 0);
      const text = aggregate.scrape(live(...workers), await Promise.all(answering.map((w) => w.answer()))).text;
      const total = parseExposition(text).value('hits_total');
      expect(total).toBeGreaterThanOrEqual(previous);
      previous = total;
      now += 5_000;
    }
  });
});
