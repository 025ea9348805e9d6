import { addressHash, sessionSlot } from '../primary/sticky-listener.js';
import { decodeBinary, encodeBinary } from './binary-payload.js';
import { slotSessionId } from './session-id.js';

describe('session ids that carry their slot', () => {
  it('reads back the slot of an id the adapter made, from a polling request line', () => {
    for (const slot of [0, 3, 4095]) {
      const sid = slotSessionId(slot);
      expect(sessionSlot(`GET /socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)} HTTP/1.1`)).toBe(slot);
      expect(sessionSlot(`POST /socket.io/?sid=${sid}&EIO=4 HTTP/1.1`)).toBe(slot);
    }
  });

  it('makes ids that differ and are URL-safe', () => {
    const ids = new Set(Array.from({ length: 1_000 }, () => slotSessionId(1)));
    expect(ids.size).toBe(1_000);
    for (const id of ids) expect(id).toMatch(/^1\.[\w-]{20}$/);
  });

  it('finds no slot in a handshake, nor in an id of another shape', () => {
    expect(sessionSlot('GET /socket.io/?EIO=4&transport=polling HTTP/1.1')).toBeUndefined();
    expect(sessionSlot('GET /socket.io/?EIO=4&sid=Xk3aPq HTTP/1.1')).toBeUndefined();
    expect(sessionSlot('GET /socket.io/?notsid=2.abc HTTP/1.1')).toBeUndefined();
  });

  it('hashes one address to one number, and spreads addresses', () => {
    expect(addressHash('::ffff:10.0.0.7')).toBe(addressHash('::ffff:10.0.0.7'));
    const picks = new Set(Array.from({ length: 64 }, (_, i) => addressHash(`10.0.0.${i}`) % 4));
    expect(picks).toEqual(new Set([0, 1, 2, 3]));
  });
});

describe('binary parts of socket.io packets over the JSON wire', () => {
  it('round-trips Buffers, typed arrays and ArrayBuffers through JSON, at any depth', () => {
    const packet = ['file', { name: 'a.bin', data: Buffer.from([1, 2, 3]), parts: [new Uint8Array([4, 5]).subarray(1), new Uint8Array([6]).buffer] }];
    const back = decodeBinary(JSON.parse(JSON.stringify(encodeBinary(packet)))) as [string, { name: string; data: Buffer; parts: Buffer[] }];
    expect(back[0]).toBe('file');
    expect(back[1].name).toBe('a.bin');
    expect([...back[1].data]).toEqual([1, 2, 3]);
    expect(back[1].parts.map((p) => [...p])).toEqual([[5], [6]]);
  });

  it('sends a payload without binary parts as it is, without a copy', () => {
    const packet = { text: 'hello', n: [1, 2] };
    expect(encodeBinary(packet)).toBe(packet);
    expect(decodeBinary(packet)).toBe(packet);
  });
});
