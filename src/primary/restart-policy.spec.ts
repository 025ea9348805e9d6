import { CLUSTER_DEFAULTS } from '../cluster-options.js';
import { backoffDelay, CrashWindow } from './restart-policy.js';

describe('backoffDelay', () => {
  const defaults = CLUSTER_DEFAULTS.restart;

  it('doubles from 100 ms per consecutive failure and caps at 15000 ms with the defaults', () => {
    const delays = Array.from({ length: 12 }, (_, i) => backoffDelay(i + 1, defaults));
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12800, 15000, 15000, 15000, 15000]);
  });

  it('treats attempt 0 and below like the first failure', () => {
    expect(backoffDelay(0, defaults)).toBe(100);
    expect(backoffDelay(-3, defaults)).toBe(100);
  });

  it('stays at the cap for very large attempts', () => {
    expect(backoffDelay(10_000, defaults)).toBe(15_000);
  });

  it('follows the configured factor and initial delay', () => {
    const settings = { initialDelayMs: 50, factor: 3, maxDelayMs: 10_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, settings))).toEqual([50, 150, 450, 1350, 4050, 10_000]);
  });

  it('keeps a constant delay with factor 1', () => {
    const settings = { initialDelayMs: 250, factor: 1, maxDelayMs: 15_000 };
    expect([1, 5, 50].map((n) => backoffDelay(n, settings))).toEqual([250, 250, 250]);
  });

  it('rounds fractional delays to whole milliseconds', () => {
    const settings = { initialDelayMs: 100, factor: 1.5, maxDelayMs: 15_000 };
    // 100, 150, 225, 337.5, 506.25
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, settings))).toEqual([100, 150, 225, 338, 506]);
  });

  it('never exceeds maxDelayMs even on the first attempt', () => {
    expect(backoffDelay(1, { initialDelayMs: 100, factor: 2, maxDelayMs: 100 })).toBe(100);
    expect(backoffDelay(2, { initialDelayMs: 100, factor: 2, maxDelayMs: 100 })).toBe(100);
  });

  it('restarts at once with initialDelayMs 0', () => {
    expect([1, 2, 10].map((n) => backoffDelay(n, { initialDelayMs: 0, factor: 2, maxDelayMs: 15_000 }))).toEqual([0, 0, 0]);
  });
});

describe('CrashWindow', () => {
  it('counts exits within the window, this one included', () => {
    const window = new CrashWindow({ maxRestarts: 10, windowMs: 1_000 });
    expect(window.record(0)).toBe(1);
    expect(window.record(100)).toBe(2);
    expect(window.record(999)).toBe(3);
  });

  it('drops exits that slid out of the window', () => {
    const window = new CrashWindow({ maxRestarts: 10, windowMs: 1_000 });
    window.record(0);
    window.record(500);
    window.record(900);
    // 0 is now exactly windowMs old: out; 500 and 900 are in.
    expect(window.record(1_000)).toBe(3);
    // Window (950, 1950]: 500 and 900 are out.
    expect(window.record(1_950)).toBe(2);
  });

  it('forgets everything after a quiet period longer than the window', () => {
    const window = new CrashWindow({ maxRestarts: 3, windowMs: 1_000 });
    window.record(0);
    window.record(10);
    window.record(20);
    expect(window.record(5_000)).toBe(1);
  });

  it('is a crash loop once the count reaches maxRestarts', () => {
    const window = new CrashWindow({ maxRestarts: 3, windowMs: 60_000 });
    expect(window.isCrashLoop(0)).toBe(false);
    expect(window.isCrashLoop(2)).toBe(false);
    expect(window.isCrashLoop(3)).toBe(true);
    expect(window.isCrashLoop(4)).toBe(true);
  });

  it('trips on the cluster rate: the maxRestarts-th exit in the window is the crash loop', () => {
    const window = new CrashWindow({ maxRestarts: 3, windowMs: 1_000 });
    const tripped = [0, 300, 600].map((t) => window.isCrashLoop(window.record(t)));
    expect(tripped).toEqual([false, false, true]);
  });

  it('does not trip when the same number of exits is spread wider than the window', () => {
    const window = new CrashWindow({ maxRestarts: 3, windowMs: 1_000 });
    const tripped = [0, 600, 1_200, 1_800].map((t) => window.isCrashLoop(window.record(t)));
    expect(tripped).toEqual([false, false, false, false]);
  });
});
