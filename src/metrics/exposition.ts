import { escapeHelp, formatValue, labelText } from './worker-metrics.js';

type Labels = Readonly<Record<string, string | number>> | undefined;

/** Writes series in the Prometheus text format, each family with its HELP and TYPE lines. */
export class Exposition {
  private text = '';

  gauge(name: string, help: string, samples: ReadonlyArray<readonly [Labels, number]>): this {
    return this.family(name, 'gauge', help, samples);
  }

  counter(name: string, help: string, samples: ReadonlyArray<readonly [Labels, number]>): this {
    return this.family(name, 'counter', help, samples);
  }

  toString(): string {
    return this.text;
  }

  private family(name: string, type: string, help: string, samples: ReadonlyArray<readonly [Labels, number]>): this {
    if (samples.length === 0) return this;
    this.text += `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
    for (const [labels, value] of samples) {
      const text = labelText(labels);
      this.text += `${name}${text === '' ? '' : `{${text}}`} ${formatValue(value)}\n`;
    }
    return this;
  }
}
