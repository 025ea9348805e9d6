// The CommonJS build lives in dist/cjs under a package.json of its own that says so: Node and
// TypeScript read a `.js` or `.d.ts` file's format from the nearest package.json.
import { writeFileSync } from 'node:fs';

writeFileSync(new URL('../dist/cjs/package.json', import.meta.url), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
