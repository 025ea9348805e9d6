import { StringDecoder } from 'node:string_decoder';

/**
 * Longest line relayed whole, in characters: a longer one is cut into lines of this length, so that
 * a worker writing without newlines cannot grow the primary's memory.
 */
export const MAX_LINE_CHARS = 65_536;

/**
 * Cuts a worker's output stream into whole lines (without their `\n`). Chunks may end anywhere, in
 * the middle of a line or of a UTF-8 character: the rest waits for the next chunk, bounded by
 * `maxLine`. `end()` gives what is left when the stream ends, so a last line without a newline is not
 * lost.
 */
export class LineSplitter {
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly maxLine = MAX_LINE_CHARS) {}

  /** The lines this chunk completes, in order. */
  push(chunk: Buffer | string): string[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const lines: string[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      const line = this.partial === '' ? text.slice(start, nl) : this.partial + text.slice(start, nl);
      this.partial = '';
      this.cut(line, lines);
      start = nl + 1;
    }
    if (start < text.length) {
      this.partial += text.slice(start);
      while (this.partial.length > this.maxLine) {
        lines.push(this.partial.slice(0, this.maxLine));
        this.partial = this.partial.slice(this.maxLine);
      }
    }
    return lines;
  }

  /** The stream ended: its unfinished last line, if any. */
  end(): string[] {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    const lines: string[] = [];
    if (rest !== '') this.cut(rest, lines);
    return lines;
  }

  private cut(line: string, into: string[]): void {
    if (line.length <= this.maxLine) return void into.push(line);
    for (let at = 0; at < line.length; at += this.maxLine) into.push(line.slice(at, at + this.maxLine));
  }
}

/**
 * The tag before a line of the worker in `slot`: `[w3] `, or `[standby] ` for a warm standby (slot -1)
 * until it takes a slot. Part of the documented output format.
 */
export function slotTag(slot: number): string {
  return slot < 0 ? '[standby] ' : `[w${slot}] `;
}

/**
 * Tags `line` of the worker in `slot`: a line that is a JSON object (Nest's `ConsoleLogger` with
 * `json: true`, pino) gets a `"slot":3` field first and stays JSON; any other line gets the tag.
 */
export function tagLine(line: string, slot: number, tag = slotTag(slot)): string {
  const fields = jsonObjectFields(line);
  if (fields === undefined) return tag + line;
  const open = line.indexOf('{');
  return fields === 0
    ? `${line.slice(0, open)}{"slot":${slot}}${line.slice(line.lastIndexOf('}') + 1)}`
    : `${line.slice(0, open)}{"slot":${slot},${line.slice(open + 1)}`;
}

/** How many fields the line has if it is one JSON object, else `undefined`. Cheap for other lines. */
function jsonObjectFields(line: string): number | undefined {
  let first = 0;
  while (first < line.length && isBlank(line.charCodeAt(first))) first++;
  let last = line.length - 1;
  while (last > first && isBlank(line.charCodeAt(last))) last--;
  if (line.charCodeAt(first) !== 0x7b || line.charCodeAt(last) !== 0x7d) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value).length : undefined;
  } catch {
    return undefined; // `{ a: 1 }` from console.log, and the like
  }
}

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d;
}

/**
 * Nest's text format names the level in capitals (coloured or not); its JSON format and pino in a
 * `level` field.
 */
// eslint-disable-next-line no-control-regex
const LOUD_TEXT = /(?:^|[^\w]|\x1b\[[\d;]*m)(?:WARN|ERROR|FATAL)\b/;
const LOUD_JSON = /"level":\s*(?:"(?:warn|warning|error|fatal)"|[4-6]\d\b)/i;

/** Whether a line says it is a warning or an error: shown even when a worker's boot output is held. */
export function isLoud(line: string): boolean {
  return LOUD_TEXT.test(line) || LOUD_JSON.test(line);
}
