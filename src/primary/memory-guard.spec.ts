import { MemoryGuard, residentMemoryMb } from './memory-guard.js';

describe('residentMemoryMb', () => {
  it('reads VmRSS from /proc/<pid>/status', () => {
    const status = 'Name:\tnode\nVmPeak:\t 900000 kB\nVmRSS:\t  102400 kB\nThreads:\t7\n';
    expect(residentMemoryMb(42, (path) => (path === '/proc/42/status' ? status : ''))).toBe(100);
  });

  it('is undefined when the file is missing or has no VmRSS', () => {
    expect(
      residentMemoryMb(42, () => {
        throw new Error('ENOENT');
      }),
    ).toBeUndefined();
    expect(residentMemoryMb(42, () => 'Name:\tnode\n')).toBeUndefined();
  });

  it('measures this very process', () => {
    const mb = residentMemoryMb(process.pid)!;
    expect(mb).toBeGreaterThan(10);
    expect(Math.abs(mb - process.memoryUsage().rss / 1024 / 1024)).toBeLessThan(64);
  });
});

describe('MemoryGuard', () => {
  it('reports only the workers above the limit, and skips unreadable ones', () => {
    const rss: Record<number, number | undefined> = { 10: 100, 11: 300, 12: undefined };
    const over: Array<[number, number]> = [];
    const guard = new MemoryGuard(
      200,
      1_000,
      () => [
        { slot: 0, pid: 10 },
        { slot: 1, pid: 11 },
        { slot: 2, pid: 12 },
      ],
      (slot, mb) => over.push([slot, mb]),
      (pid) => rss[pid],
    );
    guard.check();
    expect(over).toEqual([[1, 300]]);
  });
});
