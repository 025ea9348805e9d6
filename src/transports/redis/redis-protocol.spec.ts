import { messageEnvelope } from '../../messaging/envelope.js';
import type { WireLimits } from '../message-validation.js';
import { decodeFrames, encodeFrames, type Frame } from '../broker/node-frames.js';
import { channels } from './redis-protocol.js';

const limits: WireLimits = { serialization: 'json', maxMessageBytes: 1_024 };
const from = { node: 'b', id: 1, slot: 0, pid: 100 };
const decode = (frames: unknown, wire = limits) => {
  const malformed: string[] = [];
  const raw = Buffer.from(typeof frames === 'string' ? frames : JSON.stringify(frames));
  return { frames: decodeFrames(raw, wire, (reason) => malformed.push(reason)), malformed };
};

describe('the Redis protocol', () => {
  it("names a cluster's channels inside one hash slot", () => {
    expect(channels('orders').all).toBe('ncl:{orders}:all');
    expect(channels('orders').node('pod-1')).toBe('ncl:{orders}:n:pod-1');
    expect(channels('orders').published).toBe('ncl:{orders}:p');
    // One process: its id and pid too, so a process of a restarted primary with the same id is another channel.
    expect(channels('orders').worker({ node: 'pod-1', id: 3, slot: 1, pid: 4242 })).toBe('ncl:{orders}:w:pod-1:3:4242');
  });

  it.each(['json', 'advanced'] as const)('round-trips a batch of frames with %s serialization', (serialization) => {
    const data = serialization === 'json' ? '"x"' : new Uint8Array([1, 2, 3]);
    const frames: Frame[] = [
      {
        t: 'hb',
        node: 'b',
        workers: [{ ...from, state: 'ready', startedAt: 0, readyAt: 0, restarts: 0, congested: false }],
        topics: ['t'],
        leader: null,
      },
      { t: 'hb', node: 'b', workers: [], topics: [], leader: { node: 'b', slot: 0, pid: 7, epoch: 3 } },
      {
        t: 'ev',
        node: 'b',
        e: { type: 'leader', node: 'b', leader: null, previous: { node: 'b', slot: 0, pid: 7, epoch: 3 }, reason: 'draining', at: 1 },
      },
      { t: 'pub', node: 'b', m: messageEnvelope('publish', { topic: 't', from, data }) },
      { t: 'msg', node: 'b', m: messageEnvelope('send', { topic: 't', from, to: { node: 'a', slot: 1 }, data }) },
      { t: 'bye', node: 'b' },
    ];
    const encoded = encodeFrames(frames, serialization);
    const malformed: string[] = [];
    const decoded = decodeFrames(Buffer.isBuffer(encoded) ? encoded : Buffer.from(encoded), { ...limits, serialization }, (r) => malformed.push(r));
    expect(malformed).toEqual([]);
    expect(decoded).toEqual(frames);
  });

  it.each<[string, unknown]>([
    ['not JSON', '{nope'],
    ['a frame without node', { t: 'bye' }],
    ['an unknown type', { t: 'gossip', node: 'b' }],
    ["a heartbeat listing another node's worker", { t: 'hb', node: 'b', workers: [{ ...from, node: 'c', state: 'ready' }], topics: [] }],
    [
      'a message from a worker of another node',
      { t: 'msg', node: 'b', m: messageEnvelope('send', { topic: 't', from: { ...from, node: 'c' }, to: { node: 'a', slot: 0 } }) },
    ],
    ['a publish in a msg frame', { t: 'msg', node: 'b', m: messageEnvelope('publish', { topic: 't', from }) }],
    ['a message over the size limit', { t: 'pub', node: 'b', m: messageEnvelope('publish', { topic: 't', from, data: 'x'.repeat(2_000) }) }],
    ['an event of another node', { t: 'ev', node: 'b', e: { type: 'ready', node: 'c' } }],
    [
      'a heartbeat naming a leader of another node',
      { t: 'hb', node: 'b', workers: [], topics: [], leader: { node: 'c', slot: 0, pid: 1, epoch: 1 } },
    ],
    ['a heartbeat with a leader without an epoch', { t: 'hb', node: 'b', workers: [], topics: [], leader: { node: 'b', slot: 0, pid: 1 } }],
    [
      'a leader event naming a worker of another node',
      { t: 'ev', node: 'b', e: { type: 'leader', node: 'b', leader: { node: 'c', slot: 0, pid: 1, epoch: 2 } } },
    ],
    ['a frame with no message', { t: 'pub', node: 'b' }],
  ])('drops %s, saying why', (_, frame) => {
    const { frames, malformed } = decode(frame);
    expect(frames).toEqual([]);
    expect(malformed).toHaveLength(1);
  });

  it('keeps the good frames of a batch that has bad ones', () => {
    const { frames, malformed } = decode({ t: 'batch', items: [{ t: 'bye', node: 'b' }, { t: 'bye' }, { t: 'bye', node: 'c' }] });
    expect(frames.map((f) => f.node)).toEqual(['b', 'c']);
    expect(malformed).toHaveLength(1);
  });
});
