/**
 * The API reference, docs/api/, generated from the source and its TSDoc by TypeDoc with
 * typedoc-plugin-markdown: one module per entry of package.json `exports`, named by its import path.
 *
 *   node scripts/docs-api.mjs           rewrite docs/api/ (`npm run docs:api`)
 *   node scripts/docs-api.mjs --check   fail, naming the pages, when docs/api/ differs from what the
 *                                       source gives (`npm run docs:api:check`)
 *
 * Run from the repository's root (npm scripts are). Settings shared with a plain `npx typedoc` are in
 * typedoc.json; the entries and their names come from package.json, so a new subpath gets its pages.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Application, PackageJsonReader, TSConfigReader, TypeDocReader } from 'typedoc';

const root = process.cwd();
const target = path.join(root, 'docs', 'api');
const check = process.argv.includes('--check');
const packageJson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

/** `./health` -> [`nestjs-cluster/health`, `src/health/index.ts`]: the source of each entry's ES module build. */
const entries = Object.entries(packageJson.exports)
  .map(([subpath, spec]) => [subpath, spec?.import?.types])
  .filter(([, types]) => typeof types === 'string')
  .map(([subpath, types]) => ({
    name: subpath === '.' ? packageJson.name : `${packageJson.name}/${subpath.slice(2)}`,
    source: path.join(root, types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts')),
  }));

const out = check ? mkdtempSync(path.join(tmpdir(), 'nestjs-cluster-docs-api-')) : target;
const app = await Application.bootstrapWithPlugins(
  { options: path.join(root, 'typedoc.json'), entryPoints: entries.map((e) => e.source), out },
  // typedoc.json, then the tsconfig it names; no command-line reader, so `--check` stays ours.
  [new TypeDocReader(), new PackageJsonReader(), new TSConfigReader()],
);
const project = await app.convert();
if (!project) {
  console.error('docs:api: TypeDoc could not convert the source (see above).');
  process.exit(1);
}
// TypeDoc names a module after its file (`health`, `index`); users know it by its import path.
for (const module of project.children ?? []) {
  const file = module.sources?.[0]?.fullFileName;
  const entry = entries.find((e) => e.source === file) ?? entries.find((e) => path.dirname(e.source).endsWith(`/${module.name}`));
  if (entry) module.name = entry.name;
  else if (module.name === 'index') module.name = packageJson.name;
}
// In the order of package.json `exports`: the root entry first.
const rank = (module) => entries.findIndex((e) => e.name === module.name);
project.children?.sort((a, b) => rank(a) - rank(b));
if (!check) rmSync(target, { recursive: true, force: true });
await app.generateOutputs(project);
if (app.logger.hasErrors()) process.exit(1);

if (check) {
  const differ = compare(target, out);
  rmSync(out, { recursive: true, force: true });
  if (differ.length > 0) {
    console.error(`docs:api: docs/api/ differs from the source in ${differ.length} page(s):`);
    for (const page of differ) console.error(`  ${page}`);
    console.error('Run `npm run docs:api` and commit docs/api/ with the change.');
    process.exit(1);
  }
  console.log('docs:api: docs/api/ is up to date.');
}

/** Pages that are in one folder and not the other, or differ. */
function compare(committed, fresh) {
  const a = files(committed);
  const b = files(fresh);
  const names = [...new Set([...a, ...b])].sort();
  return names.filter((name) => {
    if (!a.includes(name)) return true;
    if (!b.includes(name)) return true;
    return readFileSync(path.join(committed, name), 'utf8') !== readFileSync(path.join(fresh, name), 'utf8');
  });
}

function files(dir, prefix = '') {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full, `${prefix}${name}/`) : [`${prefix}${name}`];
  });
}
