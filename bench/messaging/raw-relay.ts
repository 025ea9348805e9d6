/**
 * The baseline: a hand-written relay through the primary with plain `process.send`, as a team would
 * write it without a library. Worker 0 sends, the primary forwards, worker 1 receives.
 */
import cluster from 'node:cluster';
import { BURST, payload, PINGS, timeBurstAndReport, timeRoundTrips } from './workload.js';

type Msg = { to: number; kind: string; i?: number; data?: unknown };

if (cluster.isPrimary) {
  cluster.setupPrimary({ serialization: process.env.CLUSTER_SERIALIZATION === 'advanced' ? 'advanced' : 'json' });
  const workers = [cluster.fork({ SLOT: '0' }), cluster.fork({ SLOT: '1' })];
  let ready = 0;
  for (const worker of workers) {
    worker.on('message', (msg: Msg) => {
      if (msg.kind === 'ready') {
        if (++ready === 2) workers[0]!.send({ to: 0, kind: 'start' });
      } else if (msg.kind === 'finished') {
        for (const w of workers) w.kill();
      } else workers[msg.to]!.send(msg); // the relay
    });
  }
} else {
  const slot = Number(process.env.SLOT);
  const send = (msg: Msg) => process.send!(msg);
  if (slot === 1) {
    let received = 0;
    process.on('message', (msg: Msg) => {
      if (msg.kind === 'burst' && ++received === BURST) send({ to: 0, kind: 'burst-done' });
      else if (msg.kind === 'ping') send({ to: 0, kind: 'pong', i: msg.i, data: msg.data });
    });
  } else {
    const waiting = new Map<string, () => void>();
    const waitFor = (key: string) => new Promise<void>((resolve) => waiting.set(key, resolve));
    process.on('message', async (msg: Msg) => {
      const key = msg.kind === 'pong' ? `pong:${msg.i}` : msg.kind;
      waiting.get(key)?.();
      waiting.delete(key);
      if (msg.kind !== 'start') return;
      const pings = await timeRoundTrips(PINGS, (i) => {
        const pong = waitFor(`pong:${i}`);
        send({ to: 1, kind: 'ping', i, data: payload(i) });
        return pong;
      });
      await timeBurstAndReport(pings, waitFor('burst-done'), (i) => send({ to: 1, kind: 'burst', i, data: payload(i) }));
      send({ to: 0, kind: 'finished' });
    });
  }
  send({ to: -1, kind: 'ready' });
}
