/** The messaging workload both contenders run, so their figures compare like for like. */
import { cpuMsPerThousand, groupCpuMs } from '../lib/cpu-time.js';
import { processGroupOf } from '../lib/procfs.js';

export const BURST = Number(process.env.BENCH_BURST ?? 100_000);
export const PINGS = Number(process.env.BENCH_PINGS ?? 3_000);
export const WARMUP_ROUND_TRIPS = Number(process.env.BENCH_WARMUP ?? 20_000);
/** About 100 bytes once serialized. */
export const payload = (i: number) => ({ i, text: 'x'.repeat(80) });

export interface MessagingResult {
  messagesPerSecond: number;
  pingP50Us: number;
  pingP99Us: number;
  /** CPU ms of every process of the contender per 1,000 messages of the burst. */
  burstCpuMs: number;
  /** CPU ms of every process of the contender per 1,000 measured round trips. */
  pingCpuMs: number;
}

/**
 * The process groups whose CPU counts for this contender: the one the measuring process runs in (a
 * cluster's primary and workers alike, started in a group of their own by `runNode`), and any other
 * the runner names in `BENCH_CPU_GROUPS` (the other node, the redis-server both nodes use).
 */
function contenderGroups(): number[] {
  const own = processGroupOf(process.pid);
  const others = (process.env.BENCH_CPU_GROUPS ?? '').split(',').filter(Boolean).map(Number);
  return [...new Set([...(own === null ? [] : [own]), ...others])];
}

/** CPU ms all the contender's processes spend while `work` runs. */
async function cpuOf(work: () => Promise<void>): Promise<number> {
  const groups = contenderGroups();
  const sum = (totals: Map<number, number>) => [...totals.values()].reduce((a, b) => a + b, 0);
  const before = sum(groupCpuMs(groups));
  await work();
  return sum(groupCpuMs(groups)) - before;
}

/** CPU ms per 1,000 of the measured round trips of the last `timeRoundTrips`. */
let lastPingCpuMs = NaN;

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Times `count` sequential round trips made by `roundTrip`, in microseconds, sorted. */
export async function timeRoundTrips(count: number, roundTrip: (i: number) => Promise<unknown>): Promise<number[]> {
  // Warm-up long enough for the JIT to finish: on 2 cores its background compiles otherwise land in
  // the measured tail of whichever contender has more code to optimize (after 5,000 round trips the
  // library's p99 still moved by a third between runs; after 20,000 it had settled).
  for (let i = 0; i < WARMUP_ROUND_TRIPS; i++) await roundTrip(i);
  const samples: number[] = [];
  const cpuMs = await cpuOf(async () => {
    for (let i = 0; i < count; i++) {
      const started = process.hrtime.bigint();
      await roundTrip(i);
      samples.push(Number(process.hrtime.bigint() - started) / 1_000);
    }
  });
  lastPingCpuMs = cpuMsPerThousand(cpuMs, count);
  return samples.sort((a, b) => a - b);
}

export function report(result: MessagingResult): void {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

/**
 * Times the burst (`send` called BURST times, over once `done` resolves) and reports it with the
 * round-trip times measured before, and the CPU time of both, per 1,000.
 */
export async function timeBurstAndReport(pings: readonly number[], done: Promise<unknown>, send: (i: number) => void): Promise<void> {
  let seconds = 0;
  const cpuMs = await cpuOf(async () => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < BURST; i++) send(i);
    await done;
    seconds = Number(process.hrtime.bigint() - started) / 1e9;
  });
  report({
    messagesPerSecond: BURST / seconds,
    pingP50Us: percentile(pings, 50),
    pingP99Us: percentile(pings, 99),
    burstCpuMs: cpuMsPerThousand(cpuMs, BURST),
    pingCpuMs: lastPingCpuMs,
  });
}
