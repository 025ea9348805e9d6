import { envelope, type ClusterEnvelope } from '../messaging/envelope.js';
import { EnvelopeBatcher } from './envelope-batcher.js';

const flushMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('EnvelopeBatcher', () => {
  it('writes a lone envelope as itself, within the same turn of the event loop', async () => {
    const writes: ClusterEnvelope[] = [];
    const batcher = new EnvelopeBatcher((m) => writes.push(m));
    const lone = envelope('hello');
    batcher.push(lone);
    expect(writes).toEqual([]);
    await Promise.resolve(); // one microtask later, before any I/O
    expect(writes).toEqual([lone]);
  });

  it('coalesces the envelopes of one tick into one batch, in order', async () => {
    const writes: ClusterEnvelope[] = [];
    const batcher = new EnvelopeBatcher((m) => writes.push(m));
    const sent = Array.from({ length: 5 }, (_, i) => envelope('hello', { id: String(i) }));
    for (const m of sent) batcher.push(m);
    await flushMicrotasks();
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ kind: 'batch', data: sent });
  });

  it('caps a batch at 1,000 envelopes', async () => {
    const writes: ClusterEnvelope[] = [];
    const batcher = new EnvelopeBatcher((m) => writes.push(m));
    for (let i = 0; i < 2_500; i++) batcher.push(envelope('hello', { id: String(i) }));
    await flushMicrotasks();
    const sizes = writes.map((w) => (w.kind === 'batch' ? (w.data as unknown[]).length : 1));
    expect(sizes).toEqual([1_000, 1_000, 500]);
    const ids = writes.flatMap((w) => (w.data as ClusterEnvelope[]).map((m) => Number(m.id)));
    expect(ids).toEqual(Array.from({ length: 2_500 }, (_, i) => i));
  });
});
