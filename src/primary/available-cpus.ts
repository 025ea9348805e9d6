import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, posix } from 'node:path';

/** Reads a file's text, or `undefined` when it is missing or unreadable. */
export type ReadText = (path: string) => string | undefined;

/** Where each limit came from, for logs and for tests. */
export interface CpuBudget {
  /** CPUs this process may use: min(affinity, quota) rounded up, at least 1. */
  readonly cpus: number;
  /** CPUs in this process's affinity mask (`Cpus_allowed_list`, or `os.availableParallelism()`). */
  readonly affinity: number;
  /** CPU quota of the tightest cgroup on the path to the root (quota / period), if any. */
  readonly quota: number | null;
}

/** Reads files below `root` instead of `/` so tests can point it at a fixture tree. */
export function fileReader(root = '/'): ReadText {
  return (path) => {
    try {
      return readFileSync(join(root, path), 'utf8');
    } catch {
      return undefined;
    }
  };
}

/**
 * How many CPUs this process may really use. Containers report the host's cores in `os.cpus()`;
 * what bounds a process is its affinity mask (cpusets, `taskset`) and its cgroup CPU quota
 * (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`), whichever is tighter.
 */
export function availableCpus(read: ReadText = fileReader()): CpuBudget {
  const affinity = affinityCount(read) ?? availableParallelism();
  const quota = cgroupCpuQuota(read);
  const limit = quota === null ? affinity : Math.min(affinity, Math.ceil(quota));
  return { cpus: Math.max(1, limit), affinity, quota };
}

/** Counts `Cpus_allowed_list` of /proc/self/status, e.g. `0-3,8,10-11` is 7. */
export function affinityCount(read: ReadText): number | undefined {
  const status = read('/proc/self/status');
  const line = status?.split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
  if (!line) return undefined;
  const count = countCpuList(line.slice('Cpus_allowed_list:'.length));
  return count > 0 ? count : undefined;
}

/** Counts a kernel CPU list such as `0-3,8,10-11`. */
export function countCpuList(list: string): number {
  let count = 0;
  for (const part of list.trim().split(',')) {
    if (!part) continue;
    const [from, to = from] = part.split('-').map((n) => Number.parseInt(n, 10));
    if (Number.isInteger(from) && Number.isInteger(to) && to >= from) count += to - from + 1;
  }
  return count;
}

interface CgroupMount {
  readonly version: 1 | 2;
  /** Where the hierarchy is mounted, e.g. `/sys/fs/cgroup`. */
  readonly mountPoint: string;
  /** Which part of the hierarchy the mount shows (`/` inside a cgroup namespace). */
  readonly root: string;
}

/**
 * The CPU quota (in CPUs, may be fractional) of the tightest cgroup from this process's own up to
 * the mount's root: a parent's limit bounds its children even when theirs is `max`.
 */
export function cgroupCpuQuota(read: ReadText): number | null {
  const membership = read('/proc/self/cgroup');
  if (!membership) return null;
  const mounts = cgroupMounts(read('/proc/self/mountinfo'));
  let tightest: number | null = null;
  for (const line of membership.split('\n')) {
    const [hierarchy, controllers, path] = splitCgroupLine(line);
    if (path === undefined) continue;
    const isV2 = hierarchy === '0' && controllers === '';
    const isV1Cpu = controllers.split(',').includes('cpu');
    if (!isV2 && !isV1Cpu) continue;
    const mount = mounts.find((m) => (isV2 ? m.version === 2 : m.version === 1));
    if (!mount) continue;
    for (const dir of cgroupDirs(mount, path)) {
      const quota = isV2 ? quotaV2(read, dir) : quotaV1(read, dir);
      if (quota !== null && (tightest === null || quota < tightest)) tightest = quota;
    }
  }
  return tightest;
}

function splitCgroupLine(line: string): [string, string, string | undefined] {
  // `hierarchy-id:controller-list:path`; the path itself may contain ':'.
  const first = line.indexOf(':');
  const second = line.indexOf(':', first + 1);
  if (first < 0 || second < 0) return ['', '', undefined];
  return [line.slice(0, first), line.slice(first + 1, second), line.slice(second + 1).trim()];
}

/** Reads cgroup mounts from mountinfo; falls back to the usual `/sys/fs/cgroup` layout. */
function cgroupMounts(mountinfo: string | undefined): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo?.split('\n') ?? []) {
    // `id parent major:minor root mountpoint options [optional...] - fstype source super-options`
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const [fsType, , superOptions = ''] = right.split(' ');
    const root = fields[3] ?? '/';
    const mountPoint = fields[4] ?? '';
    if (fsType === 'cgroup2') mounts.push({ version: 2, mountPoint, root });
    else if (fsType === 'cgroup' && superOptions.split(',').includes('cpu')) {
      mounts.push({ version: 1, mountPoint, root });
    }
  }
  if (mounts.length === 0) {
    mounts.push({ version: 1, mountPoint: '/sys/fs/cgroup/cpu', root: '/' });
    mounts.push({ version: 2, mountPoint: '/sys/fs/cgroup', root: '/' });
  }
  return mounts;
}

/** Directories from the process's own cgroup up to the mount point, deepest first. */
function cgroupDirs(mount: CgroupMount, path: string): string[] {
  // Outside a cgroup namespace the path is absolute in the hierarchy, and the mount may show only a
  // sub-tree of it: strip the mount's root to find the directory under the mount point.
  let relative = path;
  if (mount.root !== '/' && (relative === mount.root || relative.startsWith(`${mount.root}/`))) {
    relative = relative.slice(mount.root.length);
  }
  const dirs: string[] = [];
  let current = posix.normalize(`/${relative}`);
  for (;;) {
    dirs.push(posix.join(mount.mountPoint, current));
    if (current === '/') break;
    current = posix.dirname(current);
  }
  return dirs;
}

function quotaV2(read: ReadText, dir: string): number | null {
  const [quota, period] = (read(posix.join(dir, 'cpu.max')) ?? '').trim().split(/\s+/);
  return ratio(quota, period);
}

function quotaV1(read: ReadText, dir: string): number | null {
  return ratio(read(posix.join(dir, 'cpu.cfs_quota_us'))?.trim(), read(posix.join(dir, 'cpu.cfs_period_us'))?.trim());
}

function ratio(quota: string | undefined, period: string | undefined): number | null {
  const q = Number(quota);
  const p = Number(period);
  // `max` (v2) and `-1` (v1) mean no quota.
  if (!quota || !period || !Number.isFinite(q) || !Number.isFinite(p) || q <= 0 || p <= 0) return null;
  return q / p;
}
