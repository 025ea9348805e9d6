import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Imports a specifier in plain Node (no Jest, no transpiler) and lists its exports. */
function exportsOf(specifier: string): string[] {
  const script = `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m).sort()));`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, env }).toString());
}

/** Bare specifiers reachable from a built file through its static imports. */
function bareImportsFrom(entry: string, seen = new Set<string>(), bare = new Set<string>()): Set<string> {
  if (seen.has(entry)) return bare;
  seen.add(entry);
  for (const [, spec] of readFileSync(entry, 'utf8').matchAll(/^(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
    if (spec!.startsWith('.')) bareImportsFrom(resolve(dirname(entry), spec!), seen, bare);
    else bare.add(spec!);
  }
  return bare;
}

describe('the built package', () => {
  it('loads in plain Node through its exports map', () => {
    expect(exportsOf('nestjs-cluster')).toEqual(
      expect.arrayContaining(['bootstrapClustered', 'ClusterModule', 'ClusterService', 'OnClusterMessage', 'ClusterRequestHandler', 'WorkerUnavailableError']),
    );
    expect(exportsOf('nestjs-cluster/health')).toEqual(expect.arrayContaining(['ClusterHealthIndicator', 'ClusterHealthModule']));
    expect(exportsOf('nestjs-cluster/config')).toEqual(['clusterConfig']);
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.exports)).toEqual(['.', './health', './config', './package.json']);
  });

  it('keeps the optional peers (@nestjs/terminus, @nestjs/config) out of the root entry', () => {
    const imports = bareImportsFrom(resolve(root, 'dist/index.js'));
    expect([...imports].filter((s) => s.startsWith('@nestjs/')).sort()).toEqual(['@nestjs/common', '@nestjs/core']);
  });
});
