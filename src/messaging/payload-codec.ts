import { deserialize, serialize } from 'node:v8';
import { SerializationError } from '../cluster.errors.js';

/**
 * `json`: JSON text, the fastest on node's IPC (plain objects, arrays, strings, numbers, booleans, null).
 * `advanced`: the structured-clone algorithm (also Map, Set, Date, RegExp, Buffer, typed arrays, BigInt,
 * circular references), about 2.5x slower per message.
 */
export type Serialization = 'json' | 'advanced';
export const SERIALIZATIONS: readonly Serialization[] = ['json', 'advanced'];

/** A serialized message payload: JSON text, or structured-clone bytes. */
export type Payload = string | Uint8Array;

export interface PayloadCodec {
  readonly serialization: Serialization;
  /** Throws `SerializationError` for data the format cannot carry; `undefined` stays `undefined`. */
  encode(topic: string, data: unknown): Payload | undefined;
  decode(payload: Payload | undefined): unknown;
}

const jsonCodec: PayloadCodec = {
  serialization: 'json',
  encode(topic, data) {
    if (data === undefined) return undefined;
    let text: string | undefined;
    try {
      text = JSON.stringify(data);
    } catch (error) {
      throw new SerializationError(topic, 'json', (error as Error).message);
    }
    // JSON.stringify returns undefined for a function or a symbol instead of throwing.
    if (text === undefined) throw new SerializationError(topic, 'json', `a ${typeof data} has no JSON form`);
    return text;
  },
  decode(payload) {
    return payload === undefined ? undefined : JSON.parse(payload as string);
  },
};

const advancedCodec: PayloadCodec = {
  serialization: 'advanced',
  encode(topic, data) {
    if (data === undefined) return undefined;
    try {
      return serialize(data);
    } catch (error) {
      throw new SerializationError(topic, 'advanced', (error as Error).message);
    }
  },
  decode(payload) {
    if (payload === undefined) return undefined;
    const bytes = payload as Uint8Array;
    return deserialize(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  },
};

export function payloadCodec(serialization: Serialization): PayloadCodec {
  return serialization === 'advanced' ? advancedCodec : jsonCodec;
}
