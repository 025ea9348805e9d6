/**
 * The README's `main.ts` recipes for every kind of app (test/recipes) type-check against the built
 * package with no cast: `createApp`'s return type flows into `configure`, `listen` and the result.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const project = fileURLToPath(new URL('./recipes/tsconfig.json', import.meta.url));

describe('README recipes', () => {
  it('compile with no cast', () => {
    const run = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
