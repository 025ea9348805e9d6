import { HandedConnections } from './handed-connections.js';

describe('HandedConnections', () => {
  it('holds each connection under a fresh id until the worker it went to answers for it', () => {
    const held = new HandedConnections<string, string>();
    const first = held.hold('w1', 'c1');
    const second = held.hold('w1', 'c2');
    expect(first).not.toBe(second);
    expect(held.size).toBe(2);
    expect(held.settle('w1', first)).toBe('c1');
    expect(held.heldBy('w1')).toBe(1);
    expect(held.size).toBe(1);
  });

  it('ignores an answer from another worker, or a second answer, and keeps the connection', () => {
    const held = new HandedConnections<string, string>();
    const id = held.hold('w1', 'c1');
    expect(held.settle('w2', id)).toBeUndefined();
    expect(held.settle('w1', 999)).toBeUndefined();
    expect(held.settle('w1', id)).toBe('c1');
    expect(held.settle('w1', id)).toBeUndefined();
    expect(held.size).toBe(0);
  });

  it('gives back exactly what a worker never answered for, in the order it was handed, when it is gone', () => {
    const held = new HandedConnections<string, string>();
    const a = held.hold('w1', 'a');
    held.hold('w2', 'b');
    held.hold('w1', 'c');
    held.hold('w1', 'd');
    held.settle('w1', a);
    expect(held.release('w1')).toEqual(['c', 'd']);
    expect(held.release('w1')).toEqual([]);
    expect(held.heldBy('w1')).toBe(0);
    expect(held.size).toBe(1);
    expect(held.heldBy('w2')).toBe(1);
  });

  it('does not take an answer for a connection already given back', () => {
    const held = new HandedConnections<string, string>();
    const id = held.hold('w1', 'a');
    held.release('w1');
    expect(held.settle('w1', id)).toBeUndefined();
  });

  it('lets go of everything at once when the cluster stops', () => {
    const held = new HandedConnections<string, string>();
    held.hold('w1', 'a');
    held.hold('w2', 'b');
    expect(held.releaseAll().sort()).toEqual(['a', 'b']);
    expect(held.size).toBe(0);
    expect(held.release('w1')).toEqual([]);
  });
});
