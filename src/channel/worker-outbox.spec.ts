import { messageEnvelope, type ClusterEnvelope, type MessageEnvelope } from '../messaging/envelope.js';
import { creditWindow, messageSize } from './flow-control.js';
import { controlEnvelope, MAX_BATCH } from './channel-protocol.js';
import { WorkerOutbox } from './worker-outbox.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const from = { node: 'n1', id: 1, slot: 0, pid: 100 };

/** A message of `n`; `big` ones weigh BIG_SIZE each. */
function message(n: number, big = false): MessageEnvelope {
  return messageEnvelope('publish', { topic: 't', from, data: big ? BIG : String(n), id: String(n) });
}
const BIG_SIZE = 1_048_576;
const BIG = 'x'.repeat(BIG_SIZE - messageSize(messageEnvelope('publish', { topic: 't', from })));
/** A bound whose credit window holds 8 big messages. */
const ROOMY = 16 * BIG_SIZE;

/** An outbox and what it wrote, as the worker will read it (batches unpacked). */
function outbox(maxQueueBytes = 64 * BIG_SIZE) {
  const writes: ClusterEnvelope[] = [];
  const congestion: boolean[] = [];
  const box = new WorkerOutbox(
    (m) => writes.push(m),
    maxQueueBytes,
    (congested) => congestion.push(congested),
  );
  const read = () => writes.flatMap((m) => (m.kind === 'batch' ? (m.data as ClusterEnvelope[]) : [m]));
  const ids = () => read().map((m) => m.id ?? m.kind);
  return { box, writes, read, ids, congestion };
}

describe('WorkerOutbox', () => {
  it('writes a lone message as itself at the next microtask', async () => {
    const { box, writes } = outbox();
    const one = message(1);
    expect(box.push(one)).toBe(true);
    expect(writes).toEqual([]);
    await Promise.resolve();
    expect(writes).toEqual([one]);
  });

  it('writes what one tick queued as one batch, control envelopes first', async () => {
    const { box, writes, ids } = outbox();
    box.push(message(1));
    box.push(message(2));
    box.pushControl(controlEnvelope.shutdown());
    await tick();
    expect(writes).toHaveLength(1);
    expect(writes[0]!.kind).toBe('batch');
    expect(ids()).toEqual(['shutdown', '1', '2']);
  });

  it(`writes at most ${MAX_BATCH} envelopes per write, in order`, async () => {
    const { box, writes, ids } = outbox();
    for (let i = 0; i < 2_500; i++) box.push(message(i));
    await tick();
    expect(writes.map((w) => (w.kind === 'batch' ? (w.data as unknown[]).length : 1))).toEqual([1_000, 1_000, 500]);
    expect(ids()).toEqual(Array.from({ length: 2_500 }, (_, i) => String(i)));
  });

  it('holds messages beyond the credit window until the worker gives credit', async () => {
    const { box, ids } = outbox(ROOMY);
    expect(creditWindow(ROOMY)).toBe(8 * BIG_SIZE);
    for (let i = 0; i < 10; i++) box.push(message(i, true));
    await tick();
    expect(ids()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']); // the whole window
    expect(box.behind).toBe(10 * BIG_SIZE);
    box.credit(BIG_SIZE);
    await tick();
    expect(ids()).toHaveLength(9);
    box.credit(10 * ROOMY); // more than was written: the window does not grow past its size
    await tick();
    expect(ids()).toHaveLength(10);
    for (let i = 10; i < 20; i++) box.push(message(i, true));
    await tick();
    expect(ids()).toHaveLength(17); // message 9 is still unhandled: 7 more fit the window
  });

  it('sends control envelopes even while the window is used up', async () => {
    const { box, ids } = outbox(ROOMY);
    for (let i = 0; i < 9; i++) box.push(message(i, true));
    await tick();
    box.pushControl(controlEnvelope.shutdown());
    await tick();
    expect(ids().slice(8)).toEqual(['shutdown']);
  });

  it('drops droppable messages once the worker is maxQueueBytes behind, reports congestion once, recovers at half', async () => {
    const { box, ids, congestion } = outbox(4 * BIG_SIZE); // a window of 2
    for (let i = 0; i < 4; i++) expect(box.push(message(i, true))).toBe(true); // 2 written, 2 waiting: the bound
    expect(box.push(message(4, true))).toBe(false);
    expect(box.push(message(5, true))).toBe(false);
    expect(box.congested).toBe(true);
    expect(congestion).toEqual([true]);
    await tick();
    expect(ids()).toEqual(['0', '1']);

    box.credit(BIG_SIZE); // 3 of 4 behind: still congested
    await tick();
    expect(congestion).toEqual([true]);
    box.credit(BIG_SIZE); // 2 of 4: half
    await tick();
    expect(congestion).toEqual([true, false]);
    expect(box.congested).toBe(false);
    expect(ids()).toEqual(['0', '1', '2', '3']);
  });

  it('queues a message that is not droppable even beyond the bound', async () => {
    const { box, ids } = outbox(2 * BIG_SIZE); // a window of 1
    expect(box.push(message(0, true))).toBe(true);
    expect(box.push(message(1, true))).toBe(true);
    expect(box.push(message(2, true))).toBe(false);
    expect(box.push(message(3, true), false)).toBe(true);
    await tick();
    expect(ids()).toEqual(['0']);
    for (const written of [
      ['0', '1'],
      ['0', '1', '3'],
    ]) {
      box.credit(BIG_SIZE);
      await tick();
      expect(ids()).toEqual(written);
    }
  });
});
