/**
 * The load generator: autocannon in a process of its own, so that it never shares an event loop with
 * the benchmark's bookkeeping, started once and kept for the whole run so that no Node start-up sits
 * between the contenders' measurements. Jobs come over IPC.
 */
import autocannon from 'autocannon';
import type { LoadJob, LoadReply, LoadResult } from './load.js';

const running = new Map<number, autocannon.Instance>();

process.on('message', (job: LoadJob) => {
  if (job.type === 'stop') {
    running.get(job.id)?.stop();
    return;
  }
  const { options } = job;
  const instance = autocannon(
    {
      url: options.url,
      connections: options.connections,
      duration: options.durationS,
      amount: options.amount,
      pipelining: 1,
      timeout: options.timeoutS,
      // autocannon stops on a sample tick: at the 1 s default a 1.5 s run would last 2 s.
      sampleInt: 100,
    },
    (error, result) => {
      running.delete(job.id);
      let reply: LoadReply;
      if (error) reply = { id: job.id, error: String(error) };
      else {
        const report: LoadResult = {
          // Only 2xx answers count as served: a contender failing fast must not look fast.
          requestsPerSecond: result['2xx'] / result.duration,
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
          total: result.requests.total,
          errors: result.errors,
          non2xx: result.non2xx,
          durationS: result.duration,
        };
        reply = { id: job.id, result: report };
      }
      process.send!(reply);
    },
  );
  running.set(job.id, instance);
});

// The runner going away, however it ends, ends this process too.
process.on('disconnect', () => process.exit(0));
