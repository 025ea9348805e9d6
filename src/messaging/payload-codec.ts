import { deserialize, serialize } from 'node:v8';
import { SerializationError } from '../cluster.errors.js';

/**
 * `json`: JSON text, the fastest on node's IPC (plain objects, arrays, strings, numbers, booleans, null); data
 * that JSON would drop or change (a function, Map, Set, BigInt, cycle, NaN...) is refused at the call.
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
    // The quick check passes almost every message; what it doubts, the exact check decides and locates.
    if (!quickCheck(data)) {
      const problem = locate(data);
      if (problem) throw new SerializationError(topic, 'json', problem.found, formatPath(problem.path));
    }
    let text: string | undefined;
    try {
      text = JSON.stringify(data);
    } catch (error) {
      throw new SerializationError(topic, 'json', (error as Error).message);
    }
    if (text === undefined) throw new SerializationError(topic, 'json', `a ${typeof data} has no JSON form`, 'data');
    return text;
  },
  decode(payload) {
    return payload === undefined ? undefined : JSON.parse(payload as string);
  },
};

/*
 * What JSON.stringify would silently change is refused: a function or symbol (dropped, or null in an array),
 * undefined in an array (null), NaN and ±Infinity (null), an invalid Date (null), Map, Set, typed arrays,
 * ArrayBuffer, RegExp, Error and the like ({}); BigInt and cycles (JSON.stringify throws, without a path).
 * Allowed: undefined object properties (omitted, as JSON means), Date (an ISO string), a Buffer
 * ({ type: 'Buffer', data: [...] }), anything with toJSON (what it returns, checked the same way), class
 * instances and boxed primitives (their own enumerable properties, their value).
 */

/** Nesting deeper than this goes to the exact check, which also finds cycles. */
const QUICK_DEPTH = 64;

/**
 * `true` when JSON carries `value` as it is. Cheap: no path, no cycle tracking, no toJSON calls. It may
 * answer `false` for data that is fine (objects with toJSON, deep nesting), never `true` for data that is not.
 */
function faithful(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return value - value === 0; // NaN and ±Infinity give NaN
    case 'object':
      return value === null || faithfulObject(value, depth);
    default:
      return false; // function, symbol, bigint; undefined where it is not an object property
  }
}

function faithfulObject(value: object, depth: number): boolean {
  if (depth > QUICK_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!faithful(value[i], depth + 1)) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    if (value instanceof Date) return !Number.isNaN(value.getTime());
    if (Buffer.isBuffer(value)) return true;
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function' || unsupportedObject(value)) return false;
    // A class instance: its own enumerable properties, as a plain object's.
  }
  const record = value as Record<string, unknown>;
  // for-in is quicker than Object.keys (no array); inherited keys, if any, only make it stricter.
  for (const k in record) {
    const v = record[k];
    if (v !== undefined && !faithful(v, depth + 1)) return false;
  }
  return true;
}

function quickCheck(data: unknown): boolean {
  try {
    return faithful(data, 0);
  } catch {
    return false; // a throwing getter: the exact check, then JSON.stringify, report it
  }
}

type Key = string | number;

interface Problem {
  found: string;
  /** From the root (`data`) to the value, filled in as the walk unwinds. */
  path: Key[];
}

const ADVANCED = " (serialization: 'advanced' carries it)";

/** The exact check, in JSON.stringify's own order: the first value JSON would not carry as it is, with its path. */
function locate(data: unknown): Problem | undefined {
  try {
    const problem = walk(data, '', [], [], false);
    if (problem) problem.path.reverse();
    return problem;
  } catch {
    // A throwing getter or toJSON, or nesting too deep to walk: JSON.stringify will say so itself.
    return undefined;
  }
}

function walk(value: unknown, key: Key, ancestors: object[], ancestorKeys: Key[], inArray: boolean): Problem | undefined {
  if ((typeof value === 'object' && value !== null) || typeof value === 'function' || typeof value === 'bigint') {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function' && !Buffer.isBuffer(value)) {
      if (value instanceof Date && Number.isNaN(value.getTime())) return { found: 'an invalid Date, which JSON turns into null', path: [] };
      value = toJSON.call(value, String(key));
    }
  }
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : { found: `${value}, which JSON turns into null${ADVANCED}`, path: [] };
    case 'bigint':
      return { found: `a BigInt (${value}n), which JSON cannot carry${ADVANCED}`, path: [] };
    case 'function':
      return { found: `a function, which JSON ${inArray ? 'turns into null' : 'drops'}`, path: [] };
    case 'symbol':
      return { found: `a symbol, which JSON ${inArray ? 'turns into null' : 'drops'}`, path: [] };
    case 'undefined':
      return inArray ? { found: `undefined in an array, which JSON turns into null${ADVANCED}`, path: [] } : undefined;
  }
  if (value === null || Buffer.isBuffer(value)) return undefined;
  const object = value as object;
  const cycle = ancestors.indexOf(object);
  if (cycle >= 0) {
    return { found: `a circular reference to ${formatPath(ancestorKeys.slice(1, cycle + 1))}${ADVANCED}`, path: [] };
  }
  const unsupported = unsupportedObject(object);
  if (unsupported) return { found: unsupported, path: [] };
  if (object instanceof Number || object instanceof String || object instanceof Boolean) return undefined;
  ancestors.push(object);
  ancestorKeys.push(key);
  let problem: Problem | undefined;
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length && !problem; i++) {
      problem = walk(object[i], i, ancestors, ancestorKeys, true);
      problem?.path.push(i);
    }
  } else {
    const record = object as Record<string, unknown>;
    for (const k of Object.keys(record)) {
      problem = walk(record[k], k, ancestors, ancestorKeys, false);
      if (problem) {
        problem.path.push(k);
        break;
      }
    }
  }
  ancestors.pop();
  ancestorKeys.pop();
  return problem;
}

/** What JSON would turn into `{}` (or cannot carry at all), described; `undefined` for anything else. */
function unsupportedObject(object: object): string | undefined {
  const emptied = (what: string, advanced = true) => `${what}, which JSON turns into {}${advanced ? ADVANCED : ''}`;
  if (object instanceof Map) return emptied('a Map');
  if (object instanceof Set) return emptied('a Set');
  if (ArrayBuffer.isView(object)) return emptied(`a ${object.constructor?.name ?? 'typed array'}`);
  if (object instanceof ArrayBuffer || object instanceof SharedArrayBuffer) return emptied(`an ${object.constructor.name}`);
  if (object instanceof RegExp) return emptied('a RegExp');
  if (object instanceof Error) return emptied(`an Error (${object.name})`);
  if (object instanceof WeakMap || object instanceof WeakSet || object instanceof Promise || object instanceof WeakRef) {
    return emptied(`a ${object.constructor.name}`, false);
  }
  if (object instanceof BigInt) return `a BigInt object, which JSON cannot carry${ADVANCED}`;
  if (object instanceof Symbol) return emptied('a Symbol object', false);
  return undefined;
}

/** `data`, `data.items[3].tags`, `data["a key"]`. */
function formatPath(path: readonly Key[]): string {
  let text = 'data';
  for (const key of path) {
    text += typeof key === 'number' ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  }
  return text;
}

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
