/**
 * The guides (docs/deploy.md, docs/migrating-from-pm2.md) hold configuration a user copies: every YAML block
 * parses and its settings are ones the library accepts, the stop fits in the grace period, the
 * Dockerfile starts node itself, and every option, variable and command the PM2 guide names exists.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { resolveClusterOptions } from '../src/cluster-options.js';
import { CONTROL_VERBS } from '../src/control/control-protocol.js';
import { CLUSTER_ENV, OPTION_SCHEMA } from '../src/options/option-schema.js';

const doc = (name: string) => readFileSync(fileURLToPath(new URL(`../docs/${name}`, import.meta.url)), 'utf8');

/** The contents of every fenced block of `language` in `markdown`. */
function blocks(markdown: string, language: string): string[] {
  return [...markdown.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

const VARIABLES = new Set<string>(Object.values(CLUSTER_ENV));

/** Every option path of the schema, `shutdown.timeoutMs` style. */
function optionPaths(group: object = OPTION_SCHEMA, prefix = ''): string[] {
  return Object.entries(group).flatMap(([key, value]) =>
    'env' in (value as object) ? [`${prefix}${key}`] : optionPaths(value as object, `${prefix}${key}.`),
  );
}

interface Container {
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  ports?: Array<{ containerPort: number }>;
  readinessProbe?: { httpGet: { path: string; port: number } };
  livenessProbe?: { httpGet: { path: string; port: number } };
}

interface Deployment {
  kind: string;
  metadata: { name: string };
  spec: { template: { spec: { terminationGracePeriodSeconds: number; containers: Container[] } } };
}

describe('docs/deploy.md', () => {
  const markdown = doc('deploy.md');
  const deployments = blocks(markdown, 'yaml')
    .flatMap((text) => parseAllDocuments(text).map((d) => d.toJS() as Deployment))
    .filter((d) => d.kind === 'Deployment');

  it('has a Deployment, and every YAML block parses', () => {
    for (const text of blocks(markdown, 'yaml')) for (const d of parseAllDocuments(text)) expect(d.errors).toEqual([]);
    expect(deployments.length).toBeGreaterThan(0);
  });

  it.each(deployments.map((d) => [d.metadata.name, d] as const))(
    'the Deployment %s sets only variables the library reads, to values it accepts, and its stop fits the grace period',
    (_name, deployment) => {
      const pod = deployment.spec.template.spec;
      for (const container of pod.containers) {
        const env: Record<string, string> = {};
        for (const { name, value } of container.env ?? []) {
          expect(VARIABLES.has(name) ? name : `${name} (not a variable of the library)`).toBe(name);
          if (value !== undefined) env[name] = value;
        }
        // Throws, naming the variable, for a value the library would refuse at boot (exit 78).
        const options = resolveClusterOptions({}, env, () => 2);
        const delayMs = (options.shutdown as { delayMs?: number }).delayMs ?? 0;
        const margin = 5_000;
        expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(delayMs + options.shutdown.timeoutMs + margin);
        // The probes and the port are the sample app's: its readiness and liveness routes on the port it listens on.
        const port = Number(env.PORT ?? options.port);
        expect(container.ports?.map((p) => p.containerPort)).toContain(port);
        expect(container.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port });
        expect(container.livenessProbe?.httpGet).toEqual({ path: '/health', port });
      }
    },
  );

  it('starts node itself in the exec form, as an unprivileged user, exposing the port', () => {
    const dockerfiles = blocks(markdown, 'dockerfile');
    expect(dockerfiles.length).toBeGreaterThan(0);
    for (const dockerfile of dockerfiles) {
      const lines = dockerfile.split('\n').map((l) => l.trim());
      const cmd = lines.filter((l) => l.startsWith('CMD ')).at(-1)!;
      expect(JSON.parse(cmd.slice(4))[0]).toBe('node');
      expect(lines.some((l) => /^USER (?!root)\S+$/.test(l))).toBe(true);
      expect(lines).toContain(`EXPOSE ${OPTION_SCHEMA.port.fallback}`);
    }
  });
});

describe('docs/migrating-from-pm2.md', () => {
  const markdown = doc('migrating-from-pm2.md');

  it('names only variables the library reads', () => {
    const named = [...markdown.matchAll(/\bCLUSTER_[A-Z_]+\b/g)].map((m) => m[0]);
    expect(named.length).toBeGreaterThan(5);
    // The slot variable is set by the primary in each worker, not read from the user.
    for (const name of named) if (name !== 'CLUSTER_WORKER_SLOT') expect(VARIABLES.has(name) ? name : `${name} (unknown)`).toBe(name);
  });

  it('names only options that exist', () => {
    const paths = new Set(optionPaths());
    const named = [...markdown.matchAll(/`((?:restart|shutdown|messaging|leadership)\.[a-zA-Z]+|workers|name|enabled|readyTimeoutMs)`/g)].map(
      (m) => m[1]!,
    );
    expect(named.length).toBeGreaterThan(5);
    for (const path of named) expect(paths.has(path) ? path : `${path} (no such option)`).toBe(path);
  });

  it('names only commands nestjs-cluster has', () => {
    const verbs = [...markdown.matchAll(/`nestjs-cluster (\w+)/g)].map((m) => m[1]!);
    expect(verbs.length).toBeGreaterThan(4);
    for (const verb of verbs) expect([...CONTROL_VERBS, 'ls']).toContain(verb);
  });
});
