import { messageEnvelope, type MessageEnvelope } from '../messaging/envelope.js';
import { messageSize } from './flow-control.js';

const CREDIT_RETURN_BYTES = 1_048_576;
import { WorkerInbox } from './worker-inbox.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const from = { node: 'n1', id: 2, slot: 1, pid: 200 };

/** Messages numbered from `first`; `data` pads each one. */
function messages(count: number, first = 0, data = ''): MessageEnvelope[] {
  return Array.from({ length: count }, (_, i) => messageEnvelope('publish', { topic: String(first + i), from, data }));
}

/** Blocks the thread, as a slow handler does. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** An inbox whose handler records the topics it saw, after `work` on each. */
function inbox(work: (message: MessageEnvelope) => void = () => undefined) {
  const handled: string[] = [];
  const credits: number[] = [];
  const failures: Array<[unknown, string]> = [];
  const box = new WorkerInbox(
    (m) => {
      work(m);
      handled.push(m.topic);
    },
    (bytes) => credits.push(bytes),
    (error, m) => failures.push([error, m.topic]),
    CREDIT_RETURN_BYTES,
  );
  return { box, handled, credits, failures };
}

describe('WorkerInbox', () => {
  it('hands messages over at once when nothing is waiting', () => {
    const { box, handled } = inbox();
    box.receive(messages(3));
    expect(handled).toEqual(['0', '1', '2']);
    expect(box.size).toBe(0);
  });

  it('hands a long burst over in slices, letting the event loop run in between, in order', async () => {
    const { box, handled } = inbox(() => busy(1));
    box.receive(messages(40));
    const firstSlice = handled.length;
    expect(firstSlice).toBeGreaterThan(0);
    expect(firstSlice).toBeLessThan(40);
    box.receive(messages(5, 40)); // behind the backlog
    expect(handled).toHaveLength(firstSlice);
    while (box.size > 0) await tick();
    expect(handled).toEqual(Array.from({ length: 45 }, (_, i) => String(i)));
  });

  it('gives credit back once enough was handled, not for every message', () => {
    const half = 'x'.repeat(CREDIT_RETURN_BYTES / 2 - messageSize(messages(1)[0]!));
    const { box, credits } = inbox();
    box.receive(messages(1, 0, half));
    expect(credits).toEqual([]);
    box.receive(messages(1, 1, half));
    expect(credits).toEqual([CREDIT_RETURN_BYTES]);
    box.receive(messages(1, 2));
    expect(credits).toEqual([CREDIT_RETURN_BYTES]);
  });

  it('reports a handler that throws and handles the next message', () => {
    const boom = new Error('boom');
    const { box, handled, failures } = inbox((m) => {
      if (m.topic === '1') throw boom;
    });
    box.receive(messages(3));
    expect(handled).toEqual(['0', '2']);
    expect(failures).toEqual([[boom, '1']]);
  });

  it('drops the backlog when closed', async () => {
    const { box, handled } = inbox(() => busy(1));
    box.receive(messages(40));
    const handedOver = handled.length;
    box.close();
    expect(box.size).toBe(0);
    await tick();
    await tick();
    expect(handled).toHaveLength(handedOver);
  });
});
