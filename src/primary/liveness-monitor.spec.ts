import { LivenessMonitor, type Heard } from './liveness-monitor.js';

/** Jest's object on native ESM (no injected global there). */
const { jest } = import.meta;

interface Worker extends Heard {
  readonly slot: number;
  lastSeen: number;
}

/** A monitor with a 3 s limit, checking every second on a clock the test moves. */
function monitor(workers: Worker[]) {
  const clock = { now: 0 };
  const silent: Array<[number, number]> = [];
  const liveness = new LivenessMonitor<Worker>(
    3_000,
    () => workers,
    (worker, silentMs) => silent.push([worker.slot, silentMs]),
    1_000,
    () => clock.now,
  );
  /** Moves the clock to `at` and runs a check there. */
  const checkAt = (at: number) => {
    clock.now = at;
    liveness.check();
  };
  return { liveness, silent, clock, checkAt };
}

describe('LivenessMonitor', () => {
  it('reports the workers not heard from for the limit or longer, with how long', () => {
    const { silent, checkAt } = monitor([
      { slot: 0, lastSeen: 0 },
      { slot: 1, lastSeen: 1 },
      { slot: 2, lastSeen: 2_500 },
    ]);
    checkAt(1_000);
    checkAt(2_000);
    expect(silent).toEqual([]);
    checkAt(3_000);
    expect(silent).toEqual([[0, 3_000]]);
    checkAt(4_000);
    expect(silent).toEqual([
      [0, 3_000],
      [0, 4_000],
      [1, 3_999],
    ]);
  });

  it('skips a check that runs late: the primary itself was blocked and may not have read its messages', () => {
    const { silent, checkAt } = monitor([{ slot: 0, lastSeen: 0 }]);
    checkAt(1_000);
    checkAt(3_001); // more than two intervals after the previous check
    expect(silent).toEqual([]);
    checkAt(4_000); // on time again
    expect(silent).toEqual([[0, 4_000]]);
  });

  it('does not skip a check exactly two intervals late', () => {
    const { silent, checkAt } = monitor([{ slot: 0, lastSeen: 0 }]);
    checkAt(1_500);
    checkAt(3_500);
    expect(silent).toEqual([[0, 3_500]]);
  });

  it('lets the report take a worker off the list while it is checked', () => {
    const workers = new Set<Worker>([
      { slot: 0, lastSeen: 0 },
      { slot: 1, lastSeen: 0 },
    ]);
    const reported: number[] = [];
    const liveness = new LivenessMonitor<Worker>(
      1_000,
      () => workers,
      (worker) => {
        workers.delete(worker);
        reported.push(worker.slot);
      },
      1_000,
      () => 1_000,
    );
    liveness.check();
    expect(reported).toEqual([0, 1]);
  });

  describe('on its own timer', () => {
    beforeEach(() => jest.useFakeTimers({ now: 0 }));
    afterEach(() => jest.useRealTimers());

    it('checks every interval from start() until stop()', () => {
      const worker = { slot: 0, lastSeen: 0 };
      const silent: number[] = [];
      const liveness = new LivenessMonitor(
        3_000,
        () => [worker],
        (_, silentMs) => silent.push(silentMs),
        1_000,
      );
      liveness.start();
      jest.advanceTimersByTime(2_999);
      expect(silent).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(silent).toEqual([3_000]);
      liveness.stop();
      jest.advanceTimersByTime(10_000);
      expect(silent).toEqual([3_000]);
    });

    it('measures the first check from start(), not from the epoch', () => {
      jest.setSystemTime(1_000_000);
      const worker = { slot: 0, lastSeen: 1_000_000 };
      const silent: number[] = [];
      const liveness = new LivenessMonitor(
        3_000,
        () => [worker],
        (_, silentMs) => silent.push(silentMs),
        1_000,
      );
      liveness.start();
      jest.advanceTimersByTime(3_000);
      liveness.stop();
      expect(silent).toEqual([3_000]);
    });
  });
});
