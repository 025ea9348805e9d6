/**
 * The load: BENCH_CLIENTS `ClientProxy` clients (one connection each, as Nest's ClientTCP keeps), each
 * sending `echo` and waiting for its answer, for BENCH_DURATION_MS after BENCH_WARMUP_MS. A request
 * without an answer within 5 s counts as failed. Prints `RESULT {requests, failed, seconds, pids}`.
 * With BENCH_SIGNAL_AFTER_MS, prints `SIGNAL` then, so the runner can act on the contender mid-load.
 */
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, timeout } from 'rxjs';

const port = Number(process.env.PORT);
const clients = Number(process.env.BENCH_CLIENTS ?? 12);
const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 1_000);
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 3_000);
const signalAfterMs = process.env.BENCH_SIGNAL_AFTER_MS === undefined ? undefined : Number(process.env.BENCH_SIGNAL_AFTER_MS);

const proxies: ClientProxy[] = Array.from({ length: clients }, () =>
  ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } }),
);
let phase: 'warmup' | 'measure' | 'done' = 'warmup';
const counted = { requests: 0, failed: 0 };
const pids = new Set<number>();

async function loop(proxy: ClientProxy): Promise<void> {
  for (let n = 0; phase !== 'done'; n++) {
    try {
      const answer = await firstValueFrom(proxy.send<{ pid: number }>('echo', { n }).pipe(timeout(5_000)));
      if (phase === 'measure') {
        counted.requests += 1;
        pids.add(answer.pid);
      }
    } catch {
      if (phase === 'measure') counted.failed += 1;
    }
  }
}

const loops = proxies.map(loop);
await new Promise((resolve) => setTimeout(resolve, warmupMs));
phase = 'measure';
const started = performance.now();
if (signalAfterMs !== undefined) setTimeout(() => process.stdout.write('SIGNAL\n'), signalAfterMs);
await new Promise((resolve) => setTimeout(resolve, durationMs));
phase = 'done';
const seconds = (performance.now() - started) / 1_000;
await Promise.all(loops);
process.stdout.write(`RESULT ${JSON.stringify({ ...counted, seconds, pids: [...pids] })}\n`);
for (const proxy of proxies) proxy.close();
process.exit(0);
