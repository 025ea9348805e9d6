/**
 * The baseline across nodes: a hand-written relay over Redis pub/sub with ioredis, as a team would
 * write it without a library (one PUBLISH per message, JSON). Role `b` answers pings and counts the
 * burst; role `a` measures.
 */
import { Redis } from 'ioredis';
import { BURST, payload, PINGS, timeBurstAndReport, timeRoundTrips } from '../messaging/workload.js';

type Msg = { kind: string; i?: number; data?: unknown };
const url = process.env.BENCH_REDIS_URL!;
const role = process.env.BENCH_ROLE;
const publisher = new Redis(url);
const subscriber = new Redis(url);
const inbox = role === 'b' ? 'bench:b' : 'bench:a';
const outbox = role === 'b' ? 'bench:a' : 'bench:b';
const send = (msg: Msg) => void publisher.publish(outbox, JSON.stringify(msg));
await subscriber.subscribe(inbox);

if (role === 'b') {
  let received = 0;
  subscriber.on('message', (_channel: string, text: string) => {
    const msg = JSON.parse(text) as Msg;
    if (msg.kind === 'burst' && ++received === BURST) send({ kind: 'burst-done' });
    else if (msg.kind === 'ping') send({ kind: 'pong', i: msg.i, data: msg.data });
  });
  process.stdout.write('READY\n');
} else {
  const waiting = new Map<string, () => void>();
  const waitFor = (key: string) => new Promise<void>((resolve) => waiting.set(key, resolve));
  subscriber.on('message', (_channel: string, text: string) => {
    const msg = JSON.parse(text) as Msg;
    const key = msg.kind === 'pong' ? `pong:${msg.i}` : msg.kind;
    waiting.get(key)?.();
    waiting.delete(key);
  });
  const pings = await timeRoundTrips(PINGS, (i) => {
    const pong = waitFor(`pong:${i}`);
    send({ kind: 'ping', i, data: payload(i) });
    return pong;
  });
  await timeBurstAndReport(pings, waitFor('burst-done'), (i) => send({ kind: 'burst', i, data: payload(i) }));
  publisher.disconnect();
  subscriber.disconnect();
}
