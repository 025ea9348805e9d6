import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { affinityCount, availableCpus, cgroupCpuQuota, countCpuList, fileReader, type ReadText } from './available-cpus.js';

/** A fixture tree under test/fixtures/cpus/ that stands in for `/`. */
function fixture(name: string): ReadText {
  return fileReader(fileURLToPath(new URL(`../../test/fixtures/cpus/${name}`, import.meta.url)));
}

/** An in-memory tree, for the string-parsing edge cases. */
function files(tree: Record<string, string>): ReadText {
  return (path) => tree[path];
}

describe('availableCpus on fixture trees', () => {
  it.each([
    // case, cpus, affinity, quota
    ['v2-fractional-quota', 2, 8, 1.5], // 1.5 CPUs rounds up
    ['v2-no-quota', 6, 6, null], // `max` everywhere: affinity decides
    ['v2-parent-quota', 1, 8, 1], // own cgroup `max`, parent 1 CPU, grandparent 4
    ['v1-quota', 1, 4, 0.5], // cfs 50000/100000; the cpuset hierarchy's decoy quota is ignored
    ['v1-no-quota', 4, 4, null], // cfs_quota_us -1
    ['affinity-tighter', 7, 7, 16], // 0-3,8,10-11 beats a 16-CPU quota
    ['sub-path-mount', 2, 8, 2], // mount root /kubepods stripped: reads <mount>/pod1/c1, not <mount>/kubepods/pod1/c1
    ['v1-mount-root-is-own-cgroup', 3, 8, 3], // mount root equals the process's cgroup: the mount point itself
    ['hybrid', 2, 8, 2], // cgroup2 at /unified has no cpu.max; the v1 cpu quota applies
    ['no-mountinfo', 3, 8, 3], // falls back to /sys/fs/cgroup for v2
    ['tiny-quota', 1, 8, 0.1], // never below one CPU
  ])('%s -> %d cpus (affinity %d, quota %p)', (name, cpus, affinity, quota) => {
    expect(availableCpus(fixture(name))).toEqual({ cpus, affinity, quota });
  });

  it('falls back to os.availableParallelism() and no quota when /proc and /sys are missing', () => {
    const budget = availableCpus(fixture('empty'));
    expect(budget).toEqual({ cpus: availableParallelism(), affinity: availableParallelism(), quota: null });
  });

  it('caps the os.availableParallelism() fallback by a quota', () => {
    const read = files({
      '/proc/self/cgroup': '0::/app\n',
      '/sys/fs/cgroup/app/cpu.max': '100000 100000\n',
    });
    expect(availableCpus(read)).toEqual({ cpus: 1, affinity: availableParallelism(), quota: 1 });
  });
});

describe('fileReader', () => {
  it('reads an absolute path below the given root', () => {
    const read = fixture('v2-fractional-quota');
    expect(read('/sys/fs/cgroup/user.slice/app/cpu.max')).toBe('150000 100000\n');
  });

  it('returns undefined for a missing file instead of throwing', () => {
    expect(fixture('empty')('/proc/self/status')).toBeUndefined();
    expect(fixture('does-not-exist')('/proc/self/cgroup')).toBeUndefined();
  });

  it('returns undefined for a directory', () => {
    expect(fixture('v2-fractional-quota')('/proc/self')).toBeUndefined();
  });
});

describe('countCpuList', () => {
  it.each([
    ['0', 1],
    ['0-7', 8],
    ['0-3,8,10-11', 7],
    ['\t0-3,8,10-11\n', 7], // as sliced from /proc/self/status
    ['5-5', 1],
    ['2,4,6', 3],
    ['0-1,,3', 3], // empty parts are skipped
    ['', 0],
    ['   ', 0],
    ['3-1', 0], // reversed range counts nothing
    ['a-b,x', 0], // not numbers
    ['0-3,z,8', 5], // a bad part does not spoil the good ones
  ])('%p -> %d', (list, count) => {
    expect(countCpuList(list)).toBe(count);
  });
});

describe('affinityCount', () => {
  it('reads Cpus_allowed_list, not Cpus_allowed or Mems_allowed_list', () => {
    const read = files({
      '/proc/self/status': 'Name:\tnode\nCpus_allowed:\tff\nCpus_allowed_list:\t0-2,6\nMems_allowed_list:\t0-1\n',
    });
    expect(affinityCount(read)).toBe(4);
  });

  it('is undefined without /proc/self/status', () => {
    expect(affinityCount(files({}))).toBeUndefined();
  });

  it('is undefined when the line is missing', () => {
    expect(affinityCount(files({ '/proc/self/status': 'Name:\tnode\nCpus_allowed:\tff\n' }))).toBeUndefined();
  });

  it('is undefined when the list counts no CPU, so the caller falls back', () => {
    expect(affinityCount(files({ '/proc/self/status': 'Cpus_allowed_list:\t\n' }))).toBeUndefined();
  });
});

describe('cgroupCpuQuota', () => {
  const v2Mount = '30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n';
  const v1Mount = '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu,cpuacct\n';

  it('is null without /proc/self/cgroup', () => {
    expect(cgroupCpuQuota(files({}))).toBeNull();
  });

  it('reads the fixture trees the same as availableCpus', () => {
    expect(cgroupCpuQuota(fixture('v2-parent-quota'))).toBe(1);
    expect(cgroupCpuQuota(fixture('v1-no-quota'))).toBeNull();
  });

  it('accepts a cgroup path that contains ":"', () => {
    const read = files({
      '/proc/self/cgroup': '0::/system.slice/app:v2.service\n',
      '/proc/self/mountinfo': v2Mount,
      '/sys/fs/cgroup/system.slice/app:v2.service/cpu.max': '250000 100000',
    });
    expect(cgroupCpuQuota(read)).toBe(2.5);
  });

  it('takes the tightest of v1 and v2 when both name a quota', () => {
    const read = files({
      '/proc/self/cgroup': '4:cpu,cpuacct:/a\n0::/b\n',
      '/proc/self/mountinfo': v1Mount + v2Mount,
      '/sys/fs/cgroup/cpu/a/cpu.cfs_quota_us': '300000\n',
      '/sys/fs/cgroup/cpu/a/cpu.cfs_period_us': '100000\n',
      '/sys/fs/cgroup/b/cpu.max': '200000 100000\n',
    });
    expect(cgroupCpuQuota(read)).toBe(2);
  });

  it('ignores a v1 quota without its period and a malformed cpu.max', () => {
    const read = files({
      '/proc/self/cgroup': '4:cpu,cpuacct:/a\n0::/b\n',
      '/proc/self/mountinfo': v1Mount + v2Mount,
      '/sys/fs/cgroup/cpu/a/cpu.cfs_quota_us': '50000\n',
      '/sys/fs/cgroup/b/cpu.max': 'garbage\n',
    });
    expect(cgroupCpuQuota(read)).toBeNull();
  });

  it('skips v1 hierarchies without the cpu controller', () => {
    const read = files({
      '/proc/self/cgroup': '3:cpuset:/a\n2:cpuacct:/a\n',
      '/proc/self/mountinfo': v1Mount,
      '/sys/fs/cgroup/cpu/a/cpu.cfs_quota_us': '50000\n',
      '/sys/fs/cgroup/cpu/a/cpu.cfs_period_us': '100000\n',
    });
    expect(cgroupCpuQuota(read)).toBeNull();
  });
});
