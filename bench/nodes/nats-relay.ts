/**
 * The baseline across nodes over NATS: a hand-written relay with `@nats-io/transport-node`, as a team
 * would write it without a library (one message per message, JSON, one connection). Role `b` answers
 * pings and counts the burst; role `a` measures.
 */
import { connect } from '@nats-io/transport-node';
import { BURST, payload, PINGS, timeBurstAndReport, timeRoundTrips } from '../messaging/workload.js';

type Msg = { kind: string; i?: number; data?: unknown };
const role = process.env.BENCH_ROLE;
const nc = await connect({ servers: process.env.BENCH_NATS_URL! });
const inbox = role === 'b' ? 'bench.b' : 'bench.a';
const outbox = role === 'b' ? 'bench.a' : 'bench.b';
const send = (msg: Msg) => nc.publish(outbox, JSON.stringify(msg));
const on = (handle: (msg: Msg) => void) => nc.subscribe(inbox, { callback: (_error, m) => handle(JSON.parse(m.string()) as Msg) });

if (role === 'b') {
  let received = 0;
  on((msg) => {
    if (msg.kind === 'burst' && ++received === BURST) send({ kind: 'burst-done' });
    else if (msg.kind === 'ping') send({ kind: 'pong', i: msg.i, data: msg.data });
  });
  await nc.flush();
  process.stdout.write('READY\n');
} else {
  const waiting = new Map<string, () => void>();
  const waitFor = (key: string) => new Promise<void>((resolve) => waiting.set(key, resolve));
  on((msg) => {
    const key = msg.kind === 'pong' ? `pong:${msg.i}` : msg.kind;
    waiting.get(key)?.();
    waiting.delete(key);
  });
  await nc.flush();
  const pings = await timeRoundTrips(PINGS, (i) => {
    const pong = waitFor(`pong:${i}`);
    send({ kind: 'ping', i, data: payload(i) });
    return pong;
  });
  await timeBurstAndReport(pings, waitFor('burst-done'), (i) => send({ kind: 'burst', i, data: payload(i) }));
  await nc.close();
}
