/** One sample of a scrape, as Prometheus would read it. */
export interface ParsedSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

export interface ParsedScrape {
  readonly samples: ParsedSample[];
  /** `# TYPE` of each family. */
  readonly types: Map<string, string>;
  /** Samples named `name` whose labels include `labels`. */
  find(name: string, labels?: Record<string, string>): ParsedSample[];
  /** The one value of `name` with `labels`; throws if there is none or several. */
  value(name: string, labels?: Record<string, string>): number;
  /** Sum of the values of `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Reads the Prometheus text format strictly enough for tests: every line must be a comment or a sample,
 * a family's TYPE comes once and before its samples, and no series appears twice.
 */
export function parseExposition(text: string): ParsedScrape {
  const samples: ParsedSample[] = [];
  const types = new Map<string, string>();
  const seen = new Set<string>();
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      if (types.has(name!)) throw new Error(`second TYPE line for ${name}`);
      types.set(name!, type!);
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample: ${JSON.stringify(line)}`);
    const [, name, labelText = '', valueText] = match;
    const labels: Record<string, string> = {};
    for (const [, key, value] of labelText.matchAll(LABEL)) {
      if (key! in labels) throw new Error(`label ${key} twice in ${line}`);
      labels[key!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const id = `${name}{${Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(',')}}`;
    if (seen.has(id)) throw new Error(`series twice: ${id}`);
    seen.add(id);
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    samples.push({ name: name!, labels, value });
  }
  const matches = (sample: ParsedSample, name: string, labels: Record<string, string>) =>
    sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v);
  const find = (name: string, labels: Record<string, string> = {}) => samples.filter((s) => matches(s, name, labels));
  return {
    samples,
    types,
    find,
    value(name, labels = {}) {
      const found = find(name, labels);
      if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
      return found[0]!.value;
    },
    sum: (name, labels = {}) => find(name, labels).reduce((sum, s) => sum + s.value, 0),
  };
}
