import { readFileSync } from 'node:fs';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import type { WorkerInfo } from '../interfaces/worker-info.interface.js';
import { isLeaderOf } from '../leadership/leader.interface.js';
import { residentMemoryMb } from '../primary/memory-guard.js';
import type { Supervisor } from '../primary/supervisor.js';
import type { WorkerLogLine } from '../primary/worker-logs.js';
import { ClusterArgumentError, ScaleUnavailableError } from '../cluster.errors.js';
import { type ControlReload, type ControlReply, type ControlScale, type ControlStatus, type ControlWorker } from './control-protocol.js';
import type { ControlTarget } from './control-server.js';

/** CPU shares are measured over this long, between two readings of `/proc`. */
const CPU_SAMPLE_MS = 250;
/** Linux counts CPU time in clock ticks of 1/100 s (`CLK_TCK`) on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** The control socket's view of a running Supervisor. */
export function supervisorControl(supervisor: Supervisor, options: ResolvedClusterOptions, startedAt = Date.now()): ControlTarget {
  return {
    async status() {
      // The warm standbys after the workers: slot -1, state `standby` (`starting` while they boot).
      const workers = [...supervisor.snapshot().filter((w) => w.node === options.nodeId), ...supervisor.standbyInfos()];
      const cpu = await cpuPercents(workers.map((w) => w.pid));
      const state = supervisor.state();
      const now = Date.now();
      const leader = state.leader ?? null;
      const processes = workers.map((w, i): ControlWorker => ({
        slot: w.slot,
        id: w.id,
        pid: w.pid,
        state: w.state,
        startedAt: w.startedAt,
        readyAt: w.readyAt,
        uptimeMs: now - w.startedAt,
        restarts: w.restarts,
        rssMb: roundOrNull(residentMemoryMb(w.pid), 1),
        cpuPercent: roundOrNull(cpu[i], 1),
        leader: isLeaderOf(leader, w as WorkerInfo),
        congested: w.congested,
      }));
      return {
        node: options.nodeId,
        name: options.name,
        pid: process.pid,
        uptimeMs: now - startedAt,
        workers: state.expectedWorkers,
        transport: state.transport ?? 'none',
        leader,
        rollingRestarts: state.rollingRestarts ?? { started: 0, done: 0, aborted: 0 },
        processes,
      } satisfies ControlStatus;
    },

    async reload(): Promise<ControlReply<ControlReload>> {
      let replaced = 0;
      let done = false;
      let aborted: string | undefined;
      const stopObserving = supervisor.observe((event) => {
        if (event.type !== 'rolling-restart') return;
        if (event.phase === 'step') replaced += 1;
        if (event.phase === 'done') done = true;
        if (event.phase === 'aborted') aborted = event.reason ?? 'aborted';
      });
      try {
        await supervisor.restartWorkers('nestjs-cluster reload');
      } finally {
        stopObserving();
      }
      if (aborted !== undefined) return { ok: false, error: { code: 'aborted', message: `the rolling restart was aborted: ${aborted}` } };
      if (!done) return { ok: false, error: { code: 'stopping', message: 'the cluster is shutting down' } };
      return { ok: true, result: { replaced } };
    },

    logs(slot, lines) {
      const follow = (listener: (line: WorkerLogLine) => void) => supervisor.followLogLines(listener) ?? (() => undefined);
      if (options.logs !== 'tagged') return undefined;
      return { last: supervisor.logLines(slot, lines), follow };
    },

    async scale(argument: string): Promise<ControlReply<ControlScale>> {
      try {
        return { ok: true, result: await supervisor.scale(argument) };
      } catch (error) {
        if (error instanceof ClusterArgumentError)
          return { ok: false, error: { code: 'bad-request', message: `scale ${argument}: expected ${error.allowed}` } };
        if (error instanceof ScaleUnavailableError) return { ok: false, error: { code: 'stopping', message: error.reason } };
        throw error;
      }
    },

    stop() {
      // Already draining: this caller waits for the same end (a second signal would force it; a second stop does not).
      if (!supervisor.closing) supervisor.shutdown('nestjs-cluster stop');
    },
  };
}

/** Each pid's share of one CPU over `CPU_SAMPLE_MS` (`undefined` where `/proc` cannot be read: exited, or not Linux). */
async function cpuPercents(pids: readonly number[]): Promise<Array<number | undefined>> {
  const before = pids.map(cpuTicks);
  const from = performance.now();
  await new Promise((resolve) => setTimeout(resolve, CPU_SAMPLE_MS));
  const seconds = (performance.now() - from) / 1000;
  return pids.map((pid, i) => {
    const a = before[i];
    const b = cpuTicks(pid);
    return a === undefined || b === undefined ? undefined : ((b - a) / TICKS_PER_SECOND / seconds) * 100;
  });
}

/** User and system CPU time of `pid` so far, in clock ticks. */
function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

function roundOrNull(value: number | undefined, decimals: number): number | null {
  return value === undefined ? null : Number(value.toFixed(decimals));
}
