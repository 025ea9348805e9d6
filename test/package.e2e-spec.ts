import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, posix, resolve } from 'node:path';
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

let packed: string[] | undefined;
/** The files `npm pack` would put in the tarball (dist is already built: no lifecycle scripts). */
function packedFiles(): string[] {
  if (!packed) {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, env }).toString();
    packed = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  }
  return packed;
}

describe('the built package', () => {
  it('gives require() the CommonJS build and import the ES module build, with the same exports', () => {
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    const entries = Object.keys(pkg.exports)
      .filter((key) => key !== './package.json')
      .map((key) => posix.join('nestjs-cluster', key));
    const script = `for (const e of ${JSON.stringify(entries)}) console.log(JSON.stringify([e, require.resolve(e), Object.keys(require(e)).sort()]));`;
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: root, env }).toString().trim().split('\n');
    const required = out.map((line) => JSON.parse(line) as [string, string, string[]]);
    expect(required.map(([entry]) => entry)).toEqual(entries);
    for (const [entry, file, names] of required) {
      expect(file).toContain(`${root}dist/cjs/`);
      expect(names).toEqual(exportsOf(entry));
    }
  });

  it('keeps top-level await out of the ES module build, so that require(esm) of any of its entries works too', () => {
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as {
      exports: Record<string, { import?: { default: string } }>;
    };
    const files = Object.values(pkg.exports).flatMap((entry) => (entry.import ? [resolve(root, entry.import.default)] : []));
    expect(files.length).toBe(10);
    // require(esm) fails with ERR_REQUIRE_ASYNC_MODULE when anything in the graph awaits at its top.
    const script = `for (const f of ${JSON.stringify(files)}) console.log(Object.keys(require(f)).length);`;
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const counts = execFileSync(process.execPath, ['--no-warnings', '-e', script], { cwd: root, env }).toString().trim().split('\n');
    expect(counts.map(Number).every((n) => n > 0)).toBe(true);
    expect(counts.length).toBe(files.length);
  });

  it('loads in plain Node through its exports map', () => {
    expect(exportsOf('nestjs-cluster')).toEqual(
      expect.arrayContaining([
        'bootstrapClustered',
        'ClusterModule',
        'ClusterService',
        'OnClusterMessage',
        'ClusterRequestHandler',
        'WorkerUnavailableError',
      ]),
    );
    expect(exportsOf('nestjs-cluster/health')).toEqual(expect.arrayContaining(['ClusterHealthIndicator', 'ClusterHealthModule']));
    expect(exportsOf('nestjs-cluster/config')).toEqual(['clusterConfig']);
    const transport = exportsOf('nestjs-cluster/transport');
    expect(transport).toEqual(
      expect.arrayContaining(['ClusterTransport', 'MembershipTransport', 'MembershipView', 'readMessage', 'messageEnvelope', 'errorReply']),
    );
    expect(transport.length).toBeLessThanOrEqual(15);
    expect(exportsOf('nestjs-cluster/testing')).toEqual(['nodeLinkConformance', 'transportConformance']);
    expect(exportsOf('nestjs-cluster/redis')).toEqual(['redisNodeLink']);
    expect(exportsOf('nestjs-cluster/nats')).toEqual(['natsNodeLink']);
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
    expect(exportsOf('nestjs-cluster/schedule')).toEqual(['ClusterScheduleModule', 'LeaderScheduler']);
    expect(exportsOf('nestjs-cluster/metrics')).toEqual(expect.arrayContaining(['ClusterMetricsModule', 'ClusterMetricsService']));
    expect(exportsOf('nestjs-cluster/socket.io')).toEqual(
      expect.arrayContaining(['ClusterIoAdapter', 'ClusterSocketAdapter', 'createClusterAdapter']),
    );
    expect(Object.keys(pkg.exports)).toEqual([
      '.',
      './health',
      './config',
      './transport',
      './redis',
      './nats',
      './schedule',
      './metrics',
      './socket.io',
      './testing',
      './package.json',
    ]);
  });

  it('keeps the optional peers (@nestjs/terminus, @nestjs/config, @nestjs/schedule, ioredis, @nats-io, prom-client) out of the root entry', () => {
    const imports = bareImportsFrom(resolve(root, 'dist/index.js'));
    expect([...imports].filter((s) => s.startsWith('@nestjs/')).sort()).toEqual(['@nestjs/common', '@nestjs/core']);
    expect(imports.has('ioredis')).toBe(false);
    expect([...imports].filter((s) => s.startsWith('@nats-io/'))).toEqual([]);
    expect(imports.has('prom-client')).toBe(false);
  });

  it('builds the metrics subpath on prom-client and the required peers only', () => {
    const imports = [...bareImportsFrom(resolve(root, 'dist/metrics/index.js'))].filter((s) => !s.startsWith('node:'));
    expect(imports.sort()).toEqual(['@nestjs/common', 'prom-client', 'rxjs']);
  });

  it('builds the socket.io subpath on its optional peers and the required ones only', () => {
    const imports = [...bareImportsFrom(resolve(root, 'dist/websockets/index.js'))].filter((s) => !s.startsWith('node:'));
    expect(imports.sort()).toEqual(['@nestjs/common', '@nestjs/platform-socket.io', 'rxjs', 'socket.io-adapter']);
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
    for (const peer of ['@nestjs/platform-socket.io', '@nestjs/websockets', 'socket.io', 'socket.io-adapter']) {
      expect(pkg.peerDependenciesMeta[peer]).toEqual({ optional: true });
    }
  });

  it('builds the schedule subpath on @nestjs/schedule and the required peers only', () => {
    const imports = [...bareImportsFrom(resolve(root, 'dist/schedule/index.js'))].filter((s) => !s.startsWith('node:'));
    expect(imports.sort()).toEqual(['@nestjs/common', '@nestjs/schedule', 'rxjs']);
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
    expect(pkg.peerDependencies['@nestjs/schedule']).toBe('^6.0.0 || ^12.0.0');
    expect(pkg.peerDependenciesMeta['@nestjs/schedule']).toEqual({ optional: true });
  });

  it('builds the Redis and NATS subpaths on their optional peers and the required ones only', () => {
    const importsOf = (entry: string) => [...bareImportsFrom(resolve(root, entry))].filter((s) => !s.startsWith('node:')).sort();
    expect(importsOf('dist/transports/redis/index.js')).toEqual(['@nestjs/common', 'ioredis']);
    expect(importsOf('dist/transports/nats/index.js')).toEqual(['@nats-io/kv', '@nats-io/transport-node', '@nestjs/common']);
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
    for (const peer of ['ioredis', '@nats-io/kv', '@nats-io/transport-node']) expect(pkg.peerDependenciesMeta[peer]).toEqual({ optional: true });
  });

  it('builds the transport kit and its conformance suite on the required peers only, no test runner', () => {
    const importsOf = (entry: string) => [...bareImportsFrom(resolve(root, entry))].filter((s) => !s.startsWith('node:')).sort();
    expect(importsOf('dist/transports/index.js')).toEqual(['rxjs']);
    expect(importsOf('dist/testing/index.js')).toEqual(['@nestjs/common', 'rxjs']);
  });

  it('ships its license and readme, and no specs', () => {
    const files = packedFiles();
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json']));
    expect(files.filter((f) => /\.spec[.-]/.test(f))).toEqual([]);
  });

  it('ships every file its source maps point at, or inlines it', () => {
    const files = packedFiles();
    const shipped = new Set(files);
    const unresolved: string[] = [];
    for (const file of files.filter((f) => /\.(js|d\.ts)$/.test(f))) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(resolve(root, file), 'utf8'))?.[1];
      if (url && !url.startsWith('data:') && !shipped.has(posix.join(posix.dirname(file), url))) unresolved.push(`${file} -> ${url}`);
    }
    const maps = files.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const map of maps) {
      const { sources, sourcesContent, sourceRoot = '' } = JSON.parse(readFileSync(resolve(root, map), 'utf8'));
      expect(sources.length).toBeGreaterThan(0);
      (sources as string[]).forEach((source, i) => {
        if (typeof sourcesContent?.[i] === 'string') return;
        const target = posix.join(posix.dirname(map), sourceRoot, source);
        if (!shipped.has(target)) unresolved.push(`${map} -> ${source}`);
      });
    }
    expect(unresolved).toEqual([]);
  });
});
