/**
 * Worker-to-worker messaging: the library against a hand-written `process.send` relay, in interleaved
 * rounds (the order alternates), reported as medians and medians of per-round ratios.
 */
import { fileURLToPath } from 'node:url';
import { resultOf, runNode } from '../lib/run-node.js';
import { median, ratios, spread } from '../lib/stats.js';
import type { MessagingResult } from './workload.js';

const script = (name: string) => fileURLToPath(new URL(`./${name}.js`, import.meta.url));
const contenders = { raw: script('raw-relay'), library: script('library-relay') } as const;

export interface MessagingReport {
  rounds: number;
  raw: MessagingResult[];
  library: MessagingResult[];
  markdown: string;
}

export async function benchMessaging(rounds: number, env: Record<string, string> = {}): Promise<MessagingReport> {
  const results: Record<keyof typeof contenders, MessagingResult[]> = { raw: [], library: [] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? (['library', 'raw'] as const) : (['raw', 'library'] as const);
    for (const name of order) {
      results[name].push(resultOf<MessagingResult>(await runNode(contenders[name], env, 120_000), name));
    }
  }
  const pick = (name: keyof typeof contenders, key: keyof MessagingResult) => results[name].map((r) => r[key]);
  const rate = ratios(pick('library', 'messagesPerSecond'), pick('raw', 'messagesPerSecond'));
  const p50 = ratios(pick('library', 'pingP50Us'), pick('raw', 'pingP50Us'));
  const p99 = ratios(pick('library', 'pingP99Us'), pick('raw', 'pingP99Us'));
  const burstCpu = ratios(pick('library', 'burstCpuMs'), pick('raw', 'burstCpuMs'));
  const pingCpu = ratios(pick('library', 'pingCpuMs'), pick('raw', 'pingCpuMs'));
  const markdown = [
    `| messaging (${rounds} rounds) | raw process.send relay | nestjs-cluster | ratio (median of rounds) |`,
    '|---|---|---|---|',
    `| burst, messages/s | ${spread(pick('raw', 'messagesPerSecond'))} | ${spread(pick('library', 'messagesPerSecond'))} | ${median(rate).toFixed(2)}x |`,
    `| request/reply p50, us | ${spread(pick('raw', 'pingP50Us'))} | ${spread(pick('library', 'pingP50Us'))} | ${median(p50).toFixed(2)}x |`,
    `| request/reply p99, us | ${spread(pick('raw', 'pingP99Us'))} | ${spread(pick('library', 'pingP99Us'))} | ${median(p99).toFixed(2)}x |`,
    `| burst, CPU ms per 1,000 messages (all processes) | ${spread(pick('raw', 'burstCpuMs'), 1)} | ${spread(pick('library', 'burstCpuMs'), 1)} | ${median(burstCpu).toFixed(2)}x |`,
    `| request/reply, CPU ms per 1,000 round trips (all processes) | ${spread(pick('raw', 'pingCpuMs'), 1)} | ${spread(pick('library', 'pingCpuMs'), 1)} | ${median(pingCpu).toFixed(2)}x |`,
  ].join('\n');
  return { rounds, ...results, markdown };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const report = await benchMessaging(rounds);
  console.log(report.markdown);
}
