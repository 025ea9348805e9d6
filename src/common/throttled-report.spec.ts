import { ThrottledReport } from './throttled-report.js';

/** Jest's object on native ESM (no injected global there). */
const { jest } = import.meta;

/** A report every 1 s, recording what it said. */
function throttled() {
  const reports: Array<[number, string]> = [];
  const report = new ThrottledReport<string>(1_000, (count, sample) => reports.push([count, sample]));
  return { report, reports };
}

describe('ThrottledReport', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('reports the first occurrence at once', () => {
    const { report, reports } = throttled();
    report.note('a', 'first');
    expect(reports).toEqual([[1, 'first']]);
  });

  it('then reports at most once per interval, with the count since and the first sample of it', () => {
    const { report, reports } = throttled();
    report.note('a', 's1');
    report.note('a', 's2');
    report.note('a', 's3');
    jest.advanceTimersByTime(999);
    expect(reports).toEqual([[1, 's1']]);
    jest.advanceTimersByTime(1);
    expect(reports).toEqual([
      [1, 's1'],
      [2, 's2'],
    ]);
    report.note('a', 's4');
    jest.advanceTimersByTime(1_000);
    expect(reports.at(-1)).toEqual([1, 's4']);
  });

  it('forgets a key after a quiet interval: its next occurrence is reported at once', () => {
    const { report, reports } = throttled();
    report.note('a', 's1');
    jest.advanceTimersByTime(5_000);
    expect(reports).toEqual([[1, 's1']]);
    report.note('a', 's2');
    expect(reports).toEqual([
      [1, 's1'],
      [1, 's2'],
    ]);
  });

  it('counts each key on its own', () => {
    const { report, reports } = throttled();
    report.note('a', 'a1');
    report.note('b', 'b1');
    report.note('a', 'a2');
    jest.advanceTimersByTime(1_000);
    expect(reports).toEqual([
      [1, 'a1'],
      [1, 'b1'],
      [1, 'a2'],
    ]);
  });

  it('flush() reports what is still counted and starts over', () => {
    const { report, reports } = throttled();
    report.note('a', 'a1');
    report.note('a', 'a2');
    report.note('b', 'b1'); // nothing pending for b after its first report
    report.flush();
    expect(reports).toEqual([
      [1, 'a1'],
      [1, 'b1'],
      [1, 'a2'],
    ]);
    jest.advanceTimersByTime(10_000);
    expect(reports).toHaveLength(3);
    report.note('a', 'a3');
    expect(reports.at(-1)).toEqual([1, 'a3']);
  });
});
