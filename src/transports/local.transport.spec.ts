import { transportConformance } from '../testing/transport-conformance.js';
import { LocalTransport } from './local.transport.js';

// A standalone process is a cluster of one: the cases that need more members are reported skipped.
transportConformance('LocalTransport', {
  maxMembers: 1,
  create: async () => ({ members: [new LocalTransport()], close: async () => undefined }),
});

describe('draining$', () => {
  it('emits once when the drain begins, completes, and gives a later subscriber the same at once', () => {
    const transport = new LocalTransport();
    const early: string[] = [];
    transport.draining$.subscribe({ next: () => early.push('drain'), complete: () => early.push('complete') });
    expect(early).toEqual([]);
    expect(transport.draining).toBe(false);

    transport.beginDraining();
    transport.beginDraining(); // idempotent
    expect(early).toEqual(['drain', 'complete']);
    expect(transport.draining).toBe(true);

    const late: string[] = [];
    transport.draining$.subscribe({ next: () => late.push('drain'), complete: () => late.push('complete') });
    expect(late).toEqual(['drain', 'complete']);
  });
});
