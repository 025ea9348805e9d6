import { readdirSync, readFileSync } from 'node:fs';

/** Fields of /proc/<pid>/stat after the command name, which may itself contain spaces and parentheses. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The process group of `pid`, or null once it is gone (or a zombie, which holds no memory). */
export function processGroupOf(pid: number): number | null {
  const fields = statFields(pid);
  if (!fields || fields[0] === 'Z') return null;
  return Number(fields[2]);
}

/** Live members of a process group: what a benchmark run would leave behind if its kill had failed. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (processGroupOf(Number(entry)) === pgid) members.push(Number(entry));
  }
  return members;
}

/** Resident set size in MB (VmRSS), the memory a process really holds, shared library pages included. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

export function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) return match[1]!.trim();
  } catch {
    // not Linux: fall through to what Node reports
  }
  return '';
}

/** CPU ms (user + system) a live process has spent so far, NaN once it is gone; USER_HZ is 100 on Linux. */
export function processCpuMs(pid: number): number {
  const fields = statFields(pid);
  return fields ? ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 : NaN;
}
