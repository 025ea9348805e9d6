import type { Worker } from 'node:cluster';
import { envelope, messageEnvelope, type ClusterEnvelope, type MessageEnvelope } from '../../messaging/envelope.js';
import { IpcRouter } from './ipc-router.js';

/** A stand-in for node:cluster's Worker: records what the router writes to it. */
function fakeWorker(id: number) {
  const received: ClusterEnvelope[] = [];
  const worker = { id, isConnected: () => true, send: (m: ClusterEnvelope) => received.push(m) } as unknown as Worker;
  return { worker, received };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Envelopes as the worker sees them, batches unpacked. */
const unpack = (received: ClusterEnvelope[]) =>
  received.flatMap((m) => (m.kind === 'batch' ? (m.data as ClusterEnvelope[]) : [m])) as MessageEnvelope[];

function cluster(size: number) {
  const workers = Array.from({ length: size }, (_, slot) => ({ slot, ...fakeWorker(slot + 1) }));
  const router = new IpcRouter((slot) => workers[slot]?.worker.id);
  for (const w of workers) {
    router.add(w.worker, { id: w.worker.id, slot: w.slot, pid: 1000 + w.slot });
    router.listening(w.worker.id);
  }
  const from = (slot: number) => ({ id: slot + 1, slot, pid: 1000 + slot });
  return { router, workers, from };
}

describe('IpcRouter', () => {
  it('publishes to every other listening worker', async () => {
    const { router, workers, from } = cluster(3);
    router.receive(1, messageEnvelope('publish', { topic: 't', from: from(0), data: '1' }));
    await tick();
    expect(workers.map((w) => unpack(w.received).length)).toEqual([0, 1, 1]);
  });

  it('sends a request without a slot round-robin to the workers that announced the topic', async () => {
    const { router, workers, from } = cluster(3);
    for (const id of [1, 3]) router.receive(id, envelope('handlers', { data: ['sum'] }));
    for (let i = 0; i < 4; i++) {
      router.receive(2, messageEnvelope('request', { topic: 'sum', id: `r${i}`, from: from(1), timeoutMs: 1000 }));
    }
    await tick();
    expect(unpack(workers[0]!.received).map((m) => m.id)).toEqual(['r0', 'r2']);
    expect(unpack(workers[2]!.received).map((m) => m.id)).toEqual(['r1', 'r3']);
  });

  it('answers at once with an error when no worker handles the topic or the slot is empty', async () => {
    const { router, workers, from } = cluster(2);
    router.receive(1, messageEnvelope('request', { topic: 'nobody', id: 'a', from: from(0), timeoutMs: 1000 }));
    router.receive(1, messageEnvelope('request', { topic: 'x', id: 'b', from: from(0), to: 5, timeoutMs: 1000 }));
    await tick();
    expect(unpack(workers[0]!.received).map((m) => [m.id, m.error?.code])).toEqual([
      ['a', 'CLUSTER_ERR_NO_HANDLER'],
      ['b', 'CLUSTER_ERR_WORKER_UNAVAILABLE'],
    ]);
  });

  it('routes a reply back to its requester once, and fails requests whose target left', async () => {
    const { router, workers, from } = cluster(3);
    router.receive(1, messageEnvelope('request', { topic: 't', id: 'q1', from: from(0), to: 1, timeoutMs: 1000 }));
    router.receive(1, messageEnvelope('request', { topic: 't', id: 'q2', from: from(0), to: 2, timeoutMs: 1000 }));
    router.receive(2, messageEnvelope('reply', { topic: 't', id: 'q1', from: from(1), to: 0, data: '"ok"' }));
    router.receive(2, messageEnvelope('reply', { topic: 't', id: 'q1', from: from(1), to: 0, data: '"again"' }));
    router.remove(3); // slot 2 exits with q2 in flight
    await tick();
    const back = unpack(workers[0]!.received);
    expect(back.map((m) => [m.id, m.data ?? m.error?.code])).toEqual([
      ['q1', '"ok"'],
      ['q2', 'CLUSTER_ERR_WORKER_UNAVAILABLE'],
    ]);
    expect(back[1]!.error?.message).toMatch(/slot 2 \(pid 1002\) exited before replying/);
  });

  it('does not deliver to a worker whose transport is not listening yet', async () => {
    const { router, from } = cluster(1);
    const late = fakeWorker(9);
    router.add(late.worker, { id: 9, slot: 1, pid: 1009 });
    router.receive(1, messageEnvelope('publish', { topic: 't', from: from(0), data: '1' }));
    await tick();
    expect(late.received).toEqual([]);
  });
});
