/**
 * socket.io packets may carry binary data (a Buffer, an ArrayBuffer, a typed array) that the JSON
 * serialization of the cluster's messages would turn into plain objects. What goes over the cluster is
 * encoded here: each binary part becomes `{ [BINARY_KEY]: base64 }`, and is restored on arrival. A
 * payload without binary parts (the usual case) is sent as it is, without a copy.
 */
const BINARY_KEY = '$nclBinary';
/** Deeper than any packet socket.io builds; a cycle or a pathological object stops here. */
const MAX_DEPTH = 64;

export function encodeBinary(value: unknown): unknown {
  return hasBinary(value, 0) ? encode(value, 0) : value;
}

export function decodeBinary(value: unknown): unknown {
  return hasEncoded(value, 0) ? decode(value, 0) : value;
}

function isBinary(value: unknown): value is ArrayBuffer | ArrayBufferView {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

function hasBinary(value: unknown, depth: number): boolean {
  if (isBinary(value)) return true;
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) return value.some((item) => hasBinary(item, depth + 1));
  for (const key in value) if (hasBinary((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

function encode(value: unknown, depth: number): unknown {
  if (isBinary(value)) {
    const bytes = value instanceof ArrayBuffer ? Buffer.from(value) : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return { [BINARY_KEY]: bytes.toString('base64') };
  }
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => encode(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const key in value) copy[key] = encode((value as Record<string, unknown>)[key], depth + 1);
  return copy;
}

function isEncoded(value: unknown): value is { [BINARY_KEY]: string } {
  return typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[BINARY_KEY] === 'string';
}

function hasEncoded(value: unknown, depth: number): boolean {
  if (isEncoded(value)) return true;
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) return value.some((item) => hasEncoded(item, depth + 1));
  for (const key in value) if (hasEncoded((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

function decode(value: unknown, depth: number): unknown {
  if (isEncoded(value)) return Buffer.from(value[BINARY_KEY], 'base64');
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => decode(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const key in value) copy[key] = decode((value as Record<string, unknown>)[key], depth + 1);
  return copy;
}
