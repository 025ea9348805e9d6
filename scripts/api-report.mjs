/**
 * The public API of every package entry as a committed report, `api/<name>.api.md` (API Extractor).
 *
 *   node scripts/api-report.mjs           write the reports of the built dist/ (`npm run api`)
 *   node scripts/api-report.mjs --check   fail with the diff when a report differs (`npm run api:check`)
 *
 * The entries are read from package.json `exports`, so a new subpath gets a report (and `--check`
 * fails until it is committed). Shared settings live in api/api-extractor.json.
 *
 * Every name a public signature uses must be importable: a name missing from its entry is an
 * `ae-forgotten-export` error. A subpath may use a name of the root entry (`ClusterService` in
 * `nestjs-cluster/health`): users import it from `nestjs-cluster`, and its declaration is reviewed
 * in the root's report, so it is not repeated in every subpath.
 */
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import apiExtractor from '@microsoft/api-extractor';
import ts from 'typescript';

const { CompilerState, Extractor, ExtractorConfig, ExtractorLogLevel } = apiExtractor;

/**
 * Names that signatures use but that their own module does not export yet, so no entry can: each
 * needs an `export` in the module named, then in the entry. Reported on every run, not failed;
 * `--check` fails once one of them is exported, so the line here is removed with it.
 */
const PENDING = {
  // 'nestjs-cluster/<entry>': { Name: 'src/<module>.ts' },
};

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const configPath = path.join(root, 'api', 'api-extractor.json');
const packageJsonPath = path.join(root, 'package.json');
const distFolder = path.join(root, 'dist') + path.sep;
const reportFolder = path.join(root, 'api');
const tempFolder = path.join(root, '.api-tmp');
const REPORT_SUFFIX = '.api.md';

const check = process.argv.includes('--check');
const packageJson = JSON.parse(readFileSync(packageJsonPath, 'utf8'));

/**
 * `.` -> `nestjs-cluster`, `./health` -> `nestjs-cluster/health`, with its report's file name. The
 * ES module build's declarations stand for both builds: the CommonJS ones come from the same source.
 */
const entries = Object.entries(packageJson.exports)
  .map(([subpath, target]) => [subpath, target?.import ?? target])
  .filter(([, target]) => typeof target === 'object' && target.types)
  .map(([subpath, target]) => {
    const importName = subpath === '.' ? packageJson.name : `${packageJson.name}/${subpath.slice(2)}`;
    return {
      importName,
      isRoot: subpath === '.',
      reportFileName: importName.replaceAll('/', '-') + REPORT_SUFFIX,
      dtsPath: path.resolve(root, target.types),
    };
  });

const missingDts = entries.filter((entry) => !existsSync(entry.dtsPath));
if (missingDts.length > 0) {
  for (const entry of missingDts) console.error(`api: ${path.relative(root, entry.dtsPath)} (${entry.importName}) does not exist.`);
  console.error('api: build first (`npm run build`); `npm run api` and `npm run api:check` do.');
  process.exit(1);
}

function prepare(entry) {
  const configObject = ExtractorConfig.loadFile(configPath);
  configObject.mainEntryPointFilePath = entry.dtsPath;
  configObject.apiReport = { ...configObject.apiReport, reportFileName: entry.reportFileName };
  return ExtractorConfig.prepare({ configObject, configObjectFullPath: configPath, packageJsonFullPath: packageJsonPath });
}

const configs = entries.map((entry) => ({ entry, config: prepare(entry) }));
// One TypeScript program for all the entries: they share most of their declarations.
const compilerState = CompilerState.create(configs[0].config, {
  additionalEntryPoints: entries.map((entry) => entry.dtsPath),
});

/**
 * The names the root entry exports that a subpath may use: those declared in one file of dist/ only,
 * so that a name in a subpath's message (API Extractor gives the name, not the declaration) can only
 * mean the root's (two `ConfigurableModuleClass`es, say, must each be exported by their own entry).
 */
function rootNamesUsableBySubpaths() {
  const program = compilerState.program;
  const checker = program.getTypeChecker();
  const filesByName = new Map();
  for (const sourceFile of program.getSourceFiles()) {
    if (!sourceFile.fileName.startsWith(distFolder.replaceAll(path.sep, '/'))) continue;
    for (const statement of sourceFile.statements) {
      const names = ts.isVariableStatement(statement)
        ? statement.declarationList.declarations.map((declaration) => declaration.name)
        : [statement.name];
      for (const name of names) {
        if (!name || !ts.isIdentifier(name)) continue;
        const files = filesByName.get(name.text) ?? new Set();
        filesByName.set(name.text, files.add(sourceFile.fileName));
      }
    }
  }
  const rootEntry = entries.find((entry) => entry.isRoot);
  const rootModule = checker.getSymbolAtLocation(program.getSourceFile(rootEntry.dtsPath));
  const usable = new Set();
  for (const exported of checker.getExportsOfModule(rootModule)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declaredIn = new Set((symbol.declarations ?? []).map((declaration) => declaration.getSourceFile().fileName));
    const sameName = filesByName.get(exported.name);
    if (exported.name === symbol.name && sameName && [...sameName].every((file) => declaredIn.has(file))) usable.add(exported.name);
  }
  return usable;
}
const fromRoot = rootNamesUsableBySubpaths();

console.log(`api: API Extractor ${Extractor.version}, TypeScript ${ts.version}; ${check ? 'checking' : 'writing'} api/*.api.md`);
const FORGOTTEN = /^The symbol "([^"]+)" needs to be exported/;
const failures = [];
const changed = [];
const stalePending = [];
for (const { entry, config } of configs) {
  console.log(`\napi: ${entry.importName} -> api/${entry.reportFileName}`);
  const pending = PENDING[entry.importName] ?? {};
  const stillForgotten = new Set();
  const rootNamesUsed = new Set();
  const result = Extractor.invoke(config, {
    localBuild: !check,
    compilerState,
    printApiReportDiff: check,
    messageCallback(message) {
      // "Analysis will use the bundled TypeScript version ...": said once, above.
      if (message.messageId === 'console-preamble') message.logLevel = ExtractorLogLevel.None;
      if (message.messageId !== 'ae-forgotten-export') return;
      const name = FORGOTTEN.exec(message.text)?.[1];
      if (!entry.isRoot && fromRoot.has(name)) {
        rootNamesUsed.add(name);
        message.logLevel = ExtractorLogLevel.None;
      } else if (name in pending) {
        stillForgotten.add(name);
        message.logLevel = ExtractorLogLevel.None;
      }
    },
  });
  for (const [name, file] of Object.entries(pending)) {
    if (stillForgotten.has(name)) console.warn(`api: pending: "${name}" is used in a signature, but ${file} does not export it yet.`);
    else stalePending.push(`${entry.importName}: ${name}`);
  }
  if (rootNamesUsed.size > 0) console.log(`api: uses from ${packageJson.name}: ${[...rootNamesUsed].sort().join(', ')}`);
  // `--check` also fails on warnings: a changed or missing report is one.
  const failed = result.errorCount > 0 || (check && (result.warningCount > 0 || result.apiReportChanged));
  if (result.apiReportChanged) changed.push(entry);
  if (failed) failures.push({ entry, result });
}

// A report whose entry left package.json `exports`.
const expected = new Set(entries.map((entry) => entry.reportFileName));
const staleReports = readdirSync(reportFolder).filter((file) => file.endsWith(REPORT_SUFFIX) && !expected.has(file));
for (const file of staleReports) {
  if (check) {
    console.error(`\napi: api/${file} matches no entry of package.json "exports".`);
  } else {
    rmSync(path.join(reportFolder, file));
    console.log(`\napi: removed api/${file} (no entry of package.json "exports" any more).`);
  }
}

if (failures.length === 0 && stalePending.length === 0 && !(check && staleReports.length > 0)) {
  rmSync(tempFolder, { recursive: true, force: true });
  if (check) console.log(`\napi: the ${entries.length} reports in api/ match what the entries export.`);
  else if (changed.length > 0) console.log(`\napi: updated ${changed.map((e) => `api/${e.reportFileName}`).join(', ')}: review and commit.`);
  else console.log(`\napi: the ${entries.length} reports in api/ are up to date.`);
  process.exit(0);
}

console.error('\napi: FAILED');
for (const { entry, result } of failures) {
  const reasons = [];
  if (result.errorCount > 0) reasons.push(`${result.errorCount} error(s) above`);
  if (check && result.apiReportChanged) reasons.push(`its public API differs from api/${entry.reportFileName} (diff above)`);
  else if (check && result.warningCount > 0) reasons.push(`${result.warningCount} warning(s) above`);
  console.error(`  ${entry.importName}: ${reasons.join('; ')}`);
}
if (staleReports.length > 0) console.error(`  stale report(s): ${staleReports.map((file) => `api/${file}`).join(', ')}`);
if (stalePending.length > 0) {
  console.error(`  exported now, so remove from PENDING in scripts/api-report.mjs: ${stalePending.join(', ')}`);
}
if (failures.some(({ result }) => result.errorCount > 0)) {
  console.error(
    'A name used in a public signature must be importable from its entry (ae-forgotten-export): export it,\n' +
      'type-only, from the entry that uses it (a subpath may also use a name the root entry exports).',
  );
}
if (check && failures.some(({ result }) => result.apiReportChanged)) {
  console.error('If the change to the public API is intended, run `npm run api` and commit api/*.api.md with it.');
}
process.exit(1);
