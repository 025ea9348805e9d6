import { isSampleValue, sampleValue, type SampleValue } from './worker-metrics.js';

/**
 * Exposition text kept as the text between values and the values: `texts[0] values[0] texts[1] ...
 * texts[n]`. What `aggregate` mode's aggregating worker answers the worker a scrape reached: the texts
 * (names, labels, HELP and TYPE lines) only when they changed since that worker last got them, the values
 * always, so that the answer's bytes do not cross the primary at every scrape.
 */
export class RenderedText {
  readonly texts: string[] = [''];
  readonly values: SampleValue[] = [];

  /** Appends text (no value in it). */
  text(text: string): this {
    this.texts[this.texts.length - 1] += text;
    return this;
  }

  /** Appends a sample's value. */
  value(value: number): this {
    this.values.push(sampleValue(value));
    this.texts.push('');
    return this;
  }

  toString(): string {
    return joinRendered(this.texts, this.values);
  }
}

/** The exposition text of `texts` and `values` (`texts` holds one more). */
export function joinRendered(texts: readonly string[], values: readonly SampleValue[]): string {
  let out = texts[0] ?? '';
  for (let i = 0; i < values.length; i++) out += `${values[i]!}${texts[i + 1]!}`;
  return out;
}

/**
 * A `RenderedText` between workers: `texts` (all but the last) only when the receiver does not hold the ones
 * `layout` names, the values, and the last text (`tail`: the scrape's own series, new at every scrape).
 */
export interface CompactText {
  readonly layout: string;
  readonly texts?: string[];
  readonly values: SampleValue[];
  readonly tail: string;
}

/** The sending side: names its texts, with a new name whenever they differ from the last answer's. */
export class TextSender {
  private last: readonly string[] = [];
  private changes = 0;

  constructor(private readonly pid: number) {}

  answer(rendered: RenderedText, held: string | undefined): CompactText {
    const texts = rendered.texts.slice(0, -1);
    if (!sameTexts(this.last, texts)) {
      this.last = texts;
      this.changes += 1;
    }
    const layout = `${this.pid}.${this.changes}`;
    const tail = rendered.texts[rendered.texts.length - 1]!;
    return held === layout ? { layout, values: rendered.values, tail } : { layout, texts, values: rendered.values, tail };
  }
}

/** The receiving side: keeps the texts it was sent (the latest two, for answers still in flight when they changed). */
export class TextReceiver {
  private kept: Array<{ readonly layout: string; readonly texts: readonly string[] }> = [];

  /** The layout to name in the next request. */
  held(): string | null {
    return this.kept[0]?.layout ?? null;
  }

  /** The exposition text of an answer; `undefined` if it is not one, or follows texts not held. */
  read(answer: unknown): string | undefined {
    if (!isCompactText(answer)) return undefined;
    let texts: readonly string[] | undefined;
    if (answer.texts !== undefined) {
      texts = answer.texts;
      this.kept = [{ layout: answer.layout, texts }, ...this.kept.filter((k) => k.layout !== answer.layout)].slice(0, 2);
    } else {
      texts = this.kept.find((k) => k.layout === answer.layout)?.texts;
    }
    if (texts === undefined || texts.length !== answer.values.length) return undefined;
    let out = '';
    for (let i = 0; i < texts.length; i++) out += `${texts[i]!}${answer.values[i]!}`;
    return out + answer.tail;
  }
}

function sameTexts(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isCompactText(value: unknown): value is CompactText {
  if (typeof value !== 'object' || value === null) return false;
  const { layout, texts, values, tail } = value as Partial<CompactText>;
  if (typeof layout !== 'string' || typeof tail !== 'string' || !Array.isArray(values)) return false;
  for (const v of values) if (!isSampleValue(v)) return false;
  if (texts === undefined) return true;
  if (!Array.isArray(texts)) return false;
  for (const text of texts) if (typeof text !== 'string') return false;
  return true;
}
