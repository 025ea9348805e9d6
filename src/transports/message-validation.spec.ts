import { CLUSTER_NAMESPACE, ENVELOPE_VERSION, MAX_TIMER_MS } from '../cluster.constants.js';
import type { MessageEnvelope } from '../messaging/envelope.js';
import { isIdentity, isTopic, payloadSize, readMessage, show, type Unchecked, type WireLimits } from './message-validation.js';

const limits: WireLimits = { serialization: 'json', maxMessageBytes: 1_024 };
const claimed = { node: 'n1', id: 7, slot: 3, pid: 700 };
const sender = { node: 'n1', id: 1, slot: 0, pid: 100 };

/** An envelope as it might arrive: namespace and version set, the rest as given. */
const raw = (fields: Record<string, unknown>): Unchecked => ({ ns: CLUSTER_NAMESPACE, v: ENVELOPE_VERSION, ...fields });

/** Reads an envelope that must be valid. */
function valid(message: Unchecked, from?: typeof sender): MessageEnvelope {
  const read = readMessage(message, limits, from);
  if (typeof read === 'string') throw new Error(`expected a valid envelope, got: ${read}`);
  return read;
}

describe('readMessage', () => {
  it.each([
    raw({ kind: 'publish', topic: 't', from: claimed, data: '1' }),
    raw({ kind: 'publish', topic: 't', from: claimed }),
    raw({ kind: 'send', topic: 't', from: claimed, to: { node: 'n1', slot: 0 }, data: '"x"' }),
    raw({ kind: 'request', topic: 't', from: claimed, id: 'r1', timeoutMs: 500 }),
    raw({ kind: 'request', topic: 't', from: claimed, id: 'r1', to: { node: 'n1', slot: 2 }, timeoutMs: 500, data: 'null' }),
    raw({ kind: 'reply', topic: 't', from: claimed, id: 'r1', to: { node: 'n1', slot: 0 }, data: '42' }),
    raw({ kind: 'reply', topic: 't', from: claimed, id: 'r1', error: { code: 'E', message: 'no', remoteCode: 5, slot: 1 } }),
  ])('accepts a well-formed %j as it is when no sender is known', (message) => {
    expect(readMessage(message, limits)).toBe(message);
  });

  it.each<[string, Unchecked]>([
    ['an unknown kind', raw({ kind: 'gossip', topic: 't', from: claimed })],
    ['a missing kind', raw({ topic: 't', from: claimed })],
    ['an empty topic', raw({ kind: 'publish', topic: '', from: claimed })],
    ['a topic over 1024 characters', raw({ kind: 'publish', topic: 'x'.repeat(1_025), from: claimed })],
    ['a numeric topic', raw({ kind: 'publish', topic: 5, from: claimed })],
    ['no from', raw({ kind: 'publish', topic: 't' })],
    ['a from without pid', raw({ kind: 'publish', topic: 't', from: { node: 'n1', id: 1, slot: 0 } })],
    ['data that is not JSON text', raw({ kind: 'publish', topic: 't', from: claimed, data: { a: 1 } })],
    ['data over maxMessageBytes', raw({ kind: 'publish', topic: 't', from: claimed, data: 'x'.repeat(1_025) })],
    ['a send without to', raw({ kind: 'send', topic: 't', from: claimed })],
    ['a negative to', raw({ kind: 'publish', topic: 't', from: claimed, to: -1 })],
    ['a fractional slot in to', raw({ kind: 'send', topic: 't', from: claimed, to: { node: 'n1', slot: 1.5 } })],
    ['a bare slot as to', raw({ kind: 'send', topic: 't', from: claimed, to: 1 })],
    ['a to without node', raw({ kind: 'send', topic: 't', from: claimed, to: { slot: 1 } })],
    ['a to with an empty node', raw({ kind: 'send', topic: 't', from: claimed, to: { node: '', slot: 1 } })],
    ['a from without node', raw({ kind: 'publish', topic: 't', from: { id: 1, slot: 0, pid: 1 } })],
    ['a request without id', raw({ kind: 'request', topic: 't', from: claimed, timeoutMs: 5 })],
    ['an id over 128 characters', raw({ kind: 'reply', topic: 't', from: claimed, id: 'i'.repeat(129) })],
    ['a request without timeoutMs', raw({ kind: 'request', topic: 't', from: claimed, id: 'r' })],
    ['a timeoutMs of "forever"', raw({ kind: 'request', topic: 't', from: claimed, id: 'r', timeoutMs: 'forever' })],
    ['a timeoutMs of 0', raw({ kind: 'request', topic: 't', from: claimed, id: 'r', timeoutMs: 0 })],
    ['a timeoutMs of NaN', raw({ kind: 'request', topic: 't', from: claimed, id: 'r', timeoutMs: Number.NaN })],
    ['a reply error that is a string', raw({ kind: 'reply', topic: 't', from: claimed, id: 'r', error: 'boom' })],
    ['a reply error without message', raw({ kind: 'reply', topic: 't', from: claimed, id: 'r', error: { code: 'E' } })],
    [
      'a reply error with an object remoteCode',
      raw({ kind: 'reply', topic: 't', from: claimed, id: 'r', error: { code: 'E', message: 'm', remoteCode: {} } }),
    ],
    [
      'a reply error with a fractional slot',
      raw({ kind: 'reply', topic: 't', from: claimed, id: 'r', error: { code: 'E', message: 'm', slot: 0.5 } }),
    ],
  ])('rejects %s with a reason', (_, message) => {
    const reason = readMessage(message, limits);
    expect(typeof reason).toBe('string');
    expect((reason as string).length).toBeGreaterThan(0);
  });

  it('accepts data of exactly maxMessageBytes', () => {
    expect(typeof readMessage(raw({ kind: 'publish', topic: 't', from: claimed, data: 'x'.repeat(1_024) }), limits)).toBe('object');
  });

  it("wants bytes, not text, under 'advanced' serialization", () => {
    const advanced: WireLimits = { serialization: 'advanced', maxMessageBytes: 1_024 };
    expect(typeof readMessage(raw({ kind: 'publish', topic: 't', from: claimed, data: new Uint8Array(8) }), advanced)).toBe('object');
    expect(typeof readMessage(raw({ kind: 'publish', topic: 't', from: claimed, data: '1' }), advanced)).toBe('string');
    expect(typeof readMessage(raw({ kind: 'publish', topic: 't', from: claimed, data: new Uint8Array(1_025) }), advanced)).toBe('string');
  });

  describe('with a known sender', () => {
    it('stamps the sender as from, whatever the envelope claims', () => {
      expect(valid(raw({ kind: 'publish', topic: 't', from: claimed, data: '1' }), sender).from).toEqual(sender);
      expect(valid(raw({ kind: 'publish', topic: 't', from: 'me, honestly' }), sender).from).toEqual(sender);
      expect(valid(raw({ kind: 'publish', topic: 't' }), sender).from).toEqual(sender);
    });

    it('uses an envelope without unknown fields in place', () => {
      const message = raw({ kind: 'request', topic: 't', from: claimed, id: 'r', to: { node: 'n1', slot: 1 }, timeoutMs: 5, data: '1' });
      const read = valid(message, sender);
      expect(read).toBe(message);
      expect(read).toEqual(raw({ kind: 'request', topic: 't', from: sender, id: 'r', to: { node: 'n1', slot: 1 }, timeoutMs: 5, data: '1' }));
    });

    it('rebuilds an envelope with unknown fields from the known ones only', () => {
      const message = raw({ kind: 'publish', topic: 't', from: claimed, data: '1', id: 'not-for-publish', extra: 'x'.repeat(100) });
      const read = valid(message, sender);
      expect(read).not.toBe(message);
      expect(JSON.parse(JSON.stringify(read))).toEqual(raw({ kind: 'publish', topic: 't', from: sender, data: '1' }));
      expect(message.from).toBe(claimed); // the original is left alone
    });

    it('drops fields that belong to other kinds when rebuilding', () => {
      const message = raw({ kind: 'reply', topic: 't', id: 'r', data: '1', timeoutMs: 9 });
      expect(JSON.parse(JSON.stringify(valid(message, sender)))).toEqual(raw({ kind: 'reply', topic: 't', id: 'r', from: sender, data: '1' }));
    });

    it('keeps only the checked fields of a reply error when rebuilding', () => {
      const error = { code: 'E', message: 'm', stack: 'secret' };
      const read = valid(raw({ kind: 'reply', topic: 't', id: 'r', error, extra: 1 }), sender);
      expect(JSON.parse(JSON.stringify(read.error))).toEqual({ code: 'E', message: 'm' });
    });

    // The in-place path keeps `raw.error` as it arrived, so unchecked fields inside it are relayed.
    it('keeps only the checked fields of a reply error used in place', () => {
      const error = { code: 'E', message: 'm', stack: 'x'.repeat(100_000) };
      const read = valid(raw({ kind: 'reply', topic: 't', id: 'r', error }), sender);
      expect(JSON.parse(JSON.stringify(read.error))).toEqual({ code: 'E', message: 'm' });
    });

    it('clamps a request timeoutMs to what a timer can wait, rounding up', () => {
      const request = (timeoutMs: number, more = {}) => raw({ kind: 'request', topic: 't', id: 'r', timeoutMs, ...more });
      expect(valid(request(Number.POSITIVE_INFINITY), sender).timeoutMs).toBe(MAX_TIMER_MS);
      expect(valid(request(1e12, { extra: true }), sender).timeoutMs).toBe(MAX_TIMER_MS);
      expect(valid(request(0.5), sender).timeoutMs).toBe(1);
      expect(valid(request(250), sender).timeoutMs).toBe(250);
    });

    it('still rejects what is malformed', () => {
      expect(typeof readMessage(raw({ kind: 'send', topic: 't' }), limits, sender)).toBe('string');
    });
  });
});

describe('isIdentity', () => {
  it.each([
    [{ node: 'n1', id: 1, slot: 0, pid: 10 }, true],
    [{ node: 'n1', id: 0, slot: -1, pid: 0 }, true], // the router speaks with slot -1
    [{ node: 'n1', id: -1, slot: 0, pid: 10 }, false],
    [{ node: 'n1', id: 1, slot: -2, pid: 10 }, false],
    [{ node: 'n1', id: 1, slot: 0, pid: -1 }, false],
    [{ node: 'n1', id: 1.5, slot: 0, pid: 10 }, false],
    [{ node: 'n1', id: '1', slot: 0, pid: 10 }, false],
    [{ node: 'n1', id: 1, slot: 0 }, false],
    [null, false],
    [5, false],
  ])('%j -> %p', (value, expected) => {
    expect(isIdentity(value)).toBe(expected);
  });
});

describe('isTopic', () => {
  it('accepts strings of 1 to 1024 characters', () => {
    expect([isTopic('a'), isTopic('x'.repeat(1_024))]).toEqual([true, true]);
    expect([isTopic(''), isTopic('x'.repeat(1_025)), isTopic(1), isTopic(undefined)]).toEqual([false, false, false, false]);
  });
});

describe('payloadSize', () => {
  it('measures JSON text in characters and bytes in bytes, undefined for the wrong type', () => {
    expect(payloadSize('héllo', 'json')).toBe(5);
    expect(payloadSize(new Uint8Array(3), 'json')).toBeUndefined();
    expect(payloadSize(Buffer.alloc(4), 'advanced')).toBe(4);
    expect(payloadSize('text', 'advanced')).toBeUndefined();
    expect(payloadSize(null, 'json')).toBeUndefined();
  });
});

describe('show', () => {
  it('keeps whatever it shows short', () => {
    expect(show('abc')).toBe('"abc"');
    expect(show('x'.repeat(10_000_000)).length).toBeLessThan(50);
    expect(show(new Array(5_000).fill(0))).toBe('an array of 5000');
    expect(show(5)).toBe('5');
    expect(show(undefined)).toBe('undefined');
    expect(show(null)).toBe('null');
  });
});
