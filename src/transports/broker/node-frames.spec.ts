import { messageEnvelope } from '../../messaging/envelope.js';
import type { WireLimits } from '../message-validation.js';
import { decodeFrames, MAX_FRAMES, packFrames, wireFrames, type Frame } from './node-frames.js';

const limits: WireLimits = { serialization: 'json', maxMessageBytes: 1_024 };
const from = { node: 'b', id: 1, slot: 0, pid: 100 };
const decode = (text: string) => {
  const malformed: string[] = [];
  return { frames: decodeFrames(Buffer.from(text), limits, (reason) => malformed.push(reason)), malformed };
};
/** A payload as the JSON codec writes it: quotes, a line break and a non-ASCII letter to escape. */
const DATA = JSON.stringify({ a: 'é "quoted"\n' });
/** What a frame looks like once decoded: fields it did not have are there, undefined. */
const loose = (frames: readonly Frame[]) => JSON.parse(JSON.stringify(frames)) as unknown;

describe('packed frames', () => {
  const frames: Frame[] = [
    {
      t: 'hb',
      node: 'b',
      workers: [{ ...from, state: 'ready', startedAt: 0, readyAt: 0, restarts: 0, congested: false }],
      topics: ['t'],
      leader: null,
    },
    { t: 'pub', node: 'b', m: messageEnvelope('publish', { topic: 't', from, data: DATA }) },
    { t: 'msg', node: 'b', m: messageEnvelope('request', { topic: 't', id: 'r1', from, to: { node: 'a', slot: 1 }, timeoutMs: 500, data: '"x"' }) },
    {
      t: 'msg',
      node: 'b',
      m: messageEnvelope('reply', { topic: 't', id: 'r1', from, to: { node: 'a', slot: 1 }, error: { code: 'CLUSTER_ERR_X', message: 'no' } }),
    },
    { t: 'msg', node: 'b', m: messageEnvelope('send', { topic: 't', from, to: { node: 'a', slot: 0 } }) },
    { t: 'ev', node: 'b', e: { type: 'ready', node: 'b', slot: 0, id: 1, pid: 100, at: 1 } as never },
    { t: 'bye', node: 'b' },
  ];

  it('round-trips every kind of frame, payloads as they were written, in order', () => {
    const packed = packFrames(frames);
    expect(packed.startsWith('[')).toBe(true);
    const { frames: decoded, malformed } = decode(packed);
    expect(malformed).toEqual([]);
    expect(loose(decoded)).toEqual(loose(frames));
    expect((decoded[1] as { m: { data: string } }).m.data).toBe(DATA);
  });

  it('leaves a payload out of the JSON: it is neither escaped nor parsed', () => {
    const packed = packFrames([frames[1]!]);
    expect(packed.endsWith(`\n${DATA}`)).toBe(true);
  });

  it.each<[string, string]>([
    ['no line break', '[]'],
    ['an entry of the wrong length', '[["msg","b","send"]]\n'],
    ['a payload longer than what is left', `${packFrames([frames[1]!]).split('\n')[0]}\nshort`],
    ['characters after the payloads', `${packFrames([frames[4]!])}extra`],
    [
      'too many entries',
      `[${Array(MAX_FRAMES + 1)
        .fill('{"t":"bye","node":"b"}')
        .join(',')}]\n`,
    ],
  ])('drops a message with %s, saying why', (_, text) => {
    const { frames: decoded, malformed } = decode(text);
    expect(decoded).toEqual([]);
    expect(malformed).toHaveLength(1);
  });

  it('is what a broker carries with JSON serialization; a structured clone with advanced', () => {
    expect(wireFrames(frames, 'json')).toBe(packFrames(frames));
    const cloned = wireFrames([frames[4]!], 'advanced');
    expect(Buffer.isBuffer(cloned)).toBe(true);
    const malformed: string[] = [];
    const decoded = decodeFrames(cloned as Buffer, { ...limits, serialization: 'advanced' }, (reason) => malformed.push(reason));
    expect(malformed).toEqual([]);
    expect(loose(decoded)).toEqual(loose([frames[4]!]));
  });

  it('checks each rebuilt message as any other: a bad one is dropped, the others kept', () => {
    const good = packFrames([frames[4]!]);
    const bad = good.replace('"send"', '"gossip"');
    const [entries] = bad.split('\n');
    const both = `[${entries!.slice(1, -1)},${good.split('\n')[0]!.slice(1, -1)}]\n`;
    const { frames: decoded, malformed } = decode(both);
    expect(decoded).toHaveLength(1);
    expect(malformed).toHaveLength(1);
  });
});
