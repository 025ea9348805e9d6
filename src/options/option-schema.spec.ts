import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { optionTableRows } from './option-schema.js';

const CONFIGURATION = fileURLToPath(new URL('../../docs/configuration.md', import.meta.url));
const HEADER = ['option', 'env', 'default', 'allowed', 'meaning'];

/** The cells of docs/configuration.md's options table (the one whose header is `HEADER`), row by row. */
function documentedOptionRows(): string[][] {
  const lines = readFileSync(CONFIGURATION, 'utf8').split('\n');
  const cells = (line: string) =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((c) => c.trim());
  const start = lines.findIndex((l) => l.startsWith('|') && cells(l).join() === HEADER.join());
  if (start === -1) throw new Error(`docs/configuration.md has no table with the columns ${HEADER.join(', ')}`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(cells(line));
  }
  return rows;
}

describe("docs/configuration.md's options table", () => {
  it('is the option schema: every setting and hook, its variable, default, what it accepts and what it does', () => {
    const expected = optionTableRows();
    const table = [HEADER, HEADER.map(() => '---'), ...expected].map((r) => `| ${r.join(' | ')} |`).join('\n');
    const actual = documentedOptionRows();
    const row = expected.findIndex((cells, i) => JSON.stringify(cells) !== JSON.stringify(actual[i]));
    if (row !== -1 || actual.length !== expected.length) {
      throw new Error(
        `docs/configuration.md's options table differs from src/options/option-schema.ts at row ${row + 1}: ` +
          `the doc has ${JSON.stringify(actual[row])}, the schema gives ${JSON.stringify(expected[row])}. ` +
          `Paste this table over the doc's, then npm run format:\n${table}`,
      );
    }
    expect(actual).toEqual(expected);
  });
});
