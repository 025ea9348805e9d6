/**
 * A measurement, not the library: the other design for traffic between nodes, where each worker
 * talks to Redis itself (a publisher and a subscriber connection of its own) instead of through its
 * primary. Each node is still a primary with one forked worker, and the worker uses the library's
 * own pieces for what travels (payload codec, envelope, Redis frames, their checks on arrival), so the
 * difference with `library-nodes` is the path: worker -> Redis -> worker, with no primary and no IPC
 * on the way. Role `b` answers pings and counts the burst; role `a` measures.
 */
import cluster from 'node:cluster';
import { Redis } from 'ioredis';
import { BURST, payload, PINGS, timeBurstAndReport, timeRoundTrips } from '../messaging/workload.js';

if (cluster.isPrimary) {
  const worker = cluster.fork();
  // The worker says READY (role b) on its own stdout, shared with this process; its exit ends the node.
  worker.on('exit', (code) => process.exit(code ?? 1));
} else {
  await runWorker();
}

interface Envelope {
  readonly kind: string;
  readonly topic: string;
  readonly id?: string;
  readonly timeoutMs?: number;
  readonly from: { node: string; id: number; slot: number; pid: number };
  readonly to?: { node: string; slot: number };
  readonly data?: string;
}
type Frame = { readonly t: 'msg'; readonly node: string; readonly m: Envelope };

async function runWorker(): Promise<void> {
  const library = (path: string) => import(new URL(`../../../dist/${path}`, import.meta.url).href);
  const { payloadCodec } = await library('messaging/payload-codec.js');
  const { messageEnvelope } = await library('messaging/envelope.js');
  const { encodeFrames, decodeFrames, MAX_FRAMES } = await library('transports/redis/redis-protocol.js');
  const codec = payloadCodec('json') as { encode(topic: string, data: unknown): string | undefined; decode(payload: unknown): unknown };
  const limits = { serialization: 'json', maxMessageBytes: 1_048_576 };

  const role = process.env.BENCH_ROLE;
  const self = { node: role === 'b' ? 'bench-b' : 'bench-a', id: 1, slot: 0, pid: process.pid };
  const peer = { node: role === 'b' ? 'bench-a' : 'bench-b', slot: 0 };
  const inbox = (to: { node: string; slot: number }) => `ncl:{bench}:w:${to.node}:${to.slot}`;
  const url = process.env.BENCH_REDIS_URL!;
  const publisher = new Redis(url);
  const subscriber = new Redis(url);

  // As the library's link does: what one tick writes leaves in one PUBLISH per channel.
  let pending: Frame[] = [];
  const flush = () => {
    const frames = pending;
    if (frames.length === 0) return;
    pending = [];
    void publisher.publish(inbox(peer), encodeFrames(frames, 'json'));
  };
  const write = (m: Envelope) => {
    const queued = pending.push({ t: 'msg', node: self.node, m });
    if (queued === 1) queueMicrotask(flush);
    else if (queued === MAX_FRAMES) {
      flush();
      queueMicrotask(flush);
    }
  };
  const send = (kind: string, topic: string, data: unknown, extra: Partial<Envelope> = {}) =>
    write(messageEnvelope(kind, { topic, from: self, to: peer, data: codec.encode(topic, data), ...extra }));

  const waiting = new Map<string, { resolve: (value: unknown) => void; timer: NodeJS.Timeout }>();
  let sequence = 0;
  const request = (topic: string, data: unknown) =>
    new Promise((resolve, reject) => {
      const id = String(++sequence);
      const timer = setTimeout(() => waiting.delete(id) && reject(new Error('timeout')), 5_000);
      waiting.set(id, { resolve, timer });
      send('request', topic, data, { id, timeoutMs: 5_000 });
    });

  let received = 0;
  let burstDone: () => void = () => undefined;
  subscriber.on('messageBuffer', (_channel: Buffer, raw: Buffer) => {
    for (const frame of decodeFrames(raw, limits, (reason: string) => console.error(`malformed: ${reason}`)) as Frame[]) {
      const m = frame.m;
      const data = codec.decode(m.data);
      if (m.kind === 'request') send('reply', m.topic, data, { id: m.id });
      else if (m.kind === 'reply') {
        const entry = waiting.get(m.id!);
        waiting.delete(m.id!);
        if (entry) {
          clearTimeout(entry.timer);
          entry.resolve(data);
        }
      } else if (m.topic === 'burst' && ++received === BURST) send('send', 'burst-done', null);
      else if (m.topic === 'burst-done') burstDone();
    }
  });
  await subscriber.subscribe(inbox(self));

  if (role === 'b') {
    process.stdout.write('READY\n');
    return;
  }
  const pings = await timeRoundTrips(PINGS, (i) => request('ping', payload(i)));
  const done = new Promise<void>((resolve) => (burstDone = resolve));
  await timeBurstAndReport(pings, done, (i) => send('send', 'burst', payload(i)));
  publisher.disconnect();
  subscriber.disconnect();
  process.exit(0);
}
