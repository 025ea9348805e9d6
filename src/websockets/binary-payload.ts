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
  return contains(value, isBinary, 0) ? mapLeaves(value, isBinary, toEncoded, 0) : value;
}

export function decodeBinary(value: unknown): unknown {
  return contains(value, isEncoded, 0) ? mapLeaves(value, isEncoded, (encoded) => Buffer.from(encoded[BINARY_KEY], 'base64'), 0) : value;
}

function isBinary(value: unknown): value is ArrayBuffer | ArrayBufferView {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

function isEncoded(value: unknown): value is { [BINARY_KEY]: string } {
  return typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[BINARY_KEY] === 'string';
}

function toEncoded(value: ArrayBuffer | ArrayBufferView): { [BINARY_KEY]: string } {
  const bytes = value instanceof ArrayBuffer ? Buffer.from(value) : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return { [BINARY_KEY]: bytes.toString('base64') };
}

/** Whether `value` holds a leaf somewhere, down to MAX_DEPTH. */
function contains(value: unknown, isLeaf: (value: unknown) => boolean, depth: number): boolean {
  if (isLeaf(value)) return true;
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) return value.some((item) => contains(item, isLeaf, depth + 1));
  for (const key in value) if (contains((value as Record<string, unknown>)[key], isLeaf, depth + 1)) return true;
  return false;
}

/** A copy of `value` with each leaf replaced by `map(leaf)`, down to MAX_DEPTH. */
function mapLeaves<L>(value: unknown, isLeaf: (value: unknown) => value is L, map: (leaf: L) => unknown, depth: number): unknown {
  if (isLeaf(value)) return map(value);
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => mapLeaves(item, isLeaf, map, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const key in value) copy[key] = mapLeaves((value as Record<string, unknown>)[key], isLeaf, map, depth + 1);
  return copy;
}
