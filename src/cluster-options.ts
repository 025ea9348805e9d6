import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ClusterConfigError } from './cluster.errors.js';
import type {
  ClusterBootstrapOptions,
  ClusteredApp,
  ConfigureAppHook,
  CreateAppHook,
  ListenAppHook,
  PrimaryEventHook,
  ResolvedClusterOptions,
} from './interfaces/bootstrap-options.interface.js';
import { NODE_ID, readSetting, withoutCredentials, type Env } from './options/option-parsers.js';
import { CLUSTER_ENV, defaultsOf, isSetting, OPTION_SCHEMA, settingPaths, type Resolved, type SettingGroup } from './options/option-schema.js';
import { availableCpus } from './primary/available-cpus.js';

export { CLUSTER_ENV } from './options/option-schema.js';

/** Defaults of every setting, in the shape of the options (docs/configuration.md shows them). */
export const CLUSTER_DEFAULTS = defaultsOf(OPTION_SCHEMA);

/**
 * Applies explicit option > environment > default to every setting of `OPTION_SCHEMA`, and validates
 * each value, then the settings that bound each other. Throws a `ClusterConfigError` naming the first
 * bad setting, its value and what is allowed.
 */
export function resolveClusterOptions<App extends ClusteredApp>(
  options: ClusterBootstrapOptions<App> = {},
  env: Env = process.env,
  countCpus: () => number = () => availableCpus().cpus,
): ResolvedClusterOptions {
  requireObject(options, 'options');
  const { workers: workersSetting, nodeId, ...settings } = resolveGroup(OPTION_SCHEMA, options as Given, env, 'options');
  const resolved: ResolvedClusterOptions = {
    ...settings,
    workersSetting,
    workers: workersSetting === 'auto' ? countCpus() : workersSetting,
    nodeId: nodeId ?? freshNodeId(),
    // The hooks' app type is the user's; the runtime handles every kind alike.
    createApp: hook(options.createApp as CreateAppHook<ClusteredApp> | undefined, 'options.createApp'),
    configure: hook(options.configure as ConfigureAppHook<ClusteredApp> | undefined, 'options.configure'),
    listen: hook(options.listen as ListenAppHook<ClusteredApp> | undefined, 'options.listen'),
    onPrimaryEvent: hook<PrimaryEventHook>(options.onPrimaryEvent, 'options.onPrimaryEvent'),
  };
  checkBounds(resolved);
  return resolved;
}

type Given = Readonly<Record<string, unknown>>;

function resolveGroup<S extends SettingGroup>(group: S, given: Given, env: Env, at: string): Resolved<S> {
  const entries = Object.entries(group).map(([key, entry]) => {
    const name = `${at}.${key}`;
    if (isSetting(entry)) return [key, readSetting(given[key], name, env, entry.env, entry.fallback, entry.parse)];
    const inner = given[key] ?? {};
    requireObject(inner, name);
    return [key, resolveGroup(entry, inner as Given, env, name)];
  });
  return Object.fromEntries(entries) as Resolved<S>;
}

/** Settings whose allowed values depend on each other. */
function checkBounds(resolved: ResolvedClusterOptions): void {
  if (resolved.redisUrl !== undefined && resolved.natsUrl !== undefined) {
    throw new ClusterConfigError(
      'options.natsUrl',
      withoutCredentials(resolved.natsUrl),
      'unset while redisUrl (CLUSTER_REDIS_URL) is set: one link between nodes',
    );
  }
  checkNats(resolved);
  if (resolved.restart.maxDelayMs < resolved.restart.initialDelayMs) {
    throw new ClusterConfigError(
      'options.restart.maxDelayMs',
      resolved.restart.maxDelayMs,
      `a whole number >= options.restart.initialDelayMs (${resolved.restart.initialDelayMs})`,
    );
  }
  const { ttlMs, renewMs, retryMs } = resolved.leadership;
  if (renewMs * 2 > ttlMs) {
    // The holder lets go `ttlMs - renewMs` after its last renewal: that must leave room for a second try.
    throw new ClusterConfigError(
      `leadership.renewMs (${CLUSTER_ENV.leaderRenewMs})`,
      renewMs,
      `at most half of leadership.ttlMs (${CLUSTER_ENV.leaderTtlMs}), ${ttlMs}: a failed renewal must leave time to try again before the lease is let go`,
    );
  }
  if (retryMs > renewMs) {
    throw new ClusterConfigError(
      `leadership.retryMs (${CLUSTER_ENV.leaderRetryMs})`,
      retryMs,
      `at most leadership.renewMs (${CLUSTER_ENV.leaderRenewMs}), ${renewMs}: a failed renewal is tried again after retryMs`,
    );
  }
  if (resolved.sticky !== false && resolved.listen !== undefined) {
    // The primary owns the port: a worker's own listen would take it first (EADDRINUSE in the primary).
    throw new ClusterConfigError(
      `options.listen (with sticky "${resolved.sticky}")`,
      resolved.listen,
      `no listen hook in sticky mode, where the primary owns the port and workers never listen: remove listen, and set host (${CLUSTER_ENV.host}) for the address to listen on`,
    );
  }
  const { maxQueueBytes, maxMessageBytes } = resolved.messaging;
  if (maxQueueBytes < maxMessageBytes) {
    // A queue smaller than one message would drop every message of the largest allowed size.
    throw new ClusterConfigError(
      `messaging.maxQueueBytes (${CLUSTER_ENV.maxQueueBytes})`,
      maxQueueBytes,
      `at least messaging.maxMessageBytes (${CLUSTER_ENV.maxMessageBytes}), ${maxMessageBytes}: raise the one or lower the other`,
    );
  }
}

/** The `nats` settings given, by path (`nats.tls.caFile`), each with its variable and how an error shows its value. */
const NATS_SETTINGS = settingPaths(OPTION_SCHEMA.nats, 'nats.');

/** One way to authenticate, TLS files that go together, and nothing of NATS without `natsUrl`. */
function checkNats({ natsUrl, nats }: ResolvedClusterOptions): void {
  const given = new Map(
    NATS_SETTINGS.flatMap(([path, setting]) => {
      const value = path
        .split('.')
        .slice(1)
        .reduce<unknown>((group, key) => (group as Record<string, unknown>)[key], nats);
      return value === undefined ? [] : [[path, { label: `${path} (${setting.env})`, shown: setting.parse.shown?.(value) ?? value }] as const];
    }),
  );
  const reject = (path: string, allowed: string): never => {
    const { label, shown } = given.get(path)!;
    throw new ClusterConfigError(label, shown, allowed);
  };
  const first = given.keys().next();
  if (natsUrl === undefined) {
    if (!first.done) reject(first.value, `unset while natsUrl (${CLUSTER_ENV.natsUrl}) is unset: it sets up the connections to NATS`);
    return;
  }
  if (given.has('nats.pass') && !given.has('nats.user'))
    reject('nats.pass', `unset unless nats.user (${CLUSTER_ENV.natsUser}) is set: it is that user's password`);
  if (given.has('nats.token') && given.has('nats.user')) {
    reject('nats.token', `unset while nats.user (${CLUSTER_ENV.natsUser}) is set: one way to authenticate, a token or a user and password`);
  }
  if (given.has('nats.credsFile') && (given.has('nats.user') || given.has('nats.token'))) {
    reject('nats.credsFile', 'unset while nats.user or nats.token is set: one way to authenticate');
  }
  if (given.has('nats.tls.certFile') !== given.has('nats.tls.keyFile')) {
    const [set, missing] = given.has('nats.tls.certFile') ? ['certFile', 'keyFile'] : ['keyFile', 'certFile'];
    reject(`nats.tls.${set}`, `unset unless nats.tls.${missing} is set too: a client certificate goes with its key`);
  }
  const auth = ['nats.user', 'nats.token', 'nats.credsFile'].find((path) => given.has(path));
  if (auth !== undefined && /^[a-z]+:\/\/[^/]*@/i.test(natsUrl)) {
    throw new ClusterConfigError(
      `natsUrl (${CLUSTER_ENV.natsUrl})`,
      withoutCredentials(natsUrl),
      `a URL without credentials while ${given.get(auth)!.label} is set: credentials in the URL or in nats.*, not both`,
    );
  }
}

/** The settings `bootstrapClustered` resolved in this process, once it has. */
let running: ResolvedClusterOptions | undefined;

/**
 * Records the settings this process runs with (`bootstrapClustered` does, in every role), so that
 * `clusterConfig` shows them rather than the environment alone: the explicit options of `main.ts` are
 * known only there.
 */
export function recordRunningOptions(resolved: ResolvedClusterOptions | undefined): void {
  running = resolved;
}

/**
 * The settings this process runs with: those `bootstrapClustered` resolved, else (an app started
 * without it, a script) the environment over the defaults.
 */
export function runningOptions(env: Env = process.env): ResolvedClusterOptions {
  return running ?? resolveClusterOptions({}, env);
}

/**
 * The node name of a process whose options were not resolved (an app built outside
 * `bootstrapClustered`, in tests or scripts): `CLUSTER_NODE_ID` when it is a valid name, else the fresh one.
 */
export function processNodeId(env: Env = process.env): string {
  const named = env[CLUSTER_ENV.nodeId]?.trim();
  return named && NODE_ID.test(named) ? named : freshNodeId();
}

let generatedNodeId: string | undefined;

/**
 * This process's node name when none is configured: the host, this process and a random part, so no
 * other start of a node has had it. The same for every call in one process (the config, the runtime
 * and `ClusterService` agree); the primary hands it to its workers through `CLUSTER_NODE_ID`.
 */
export function freshNodeId(): string {
  const host =
    hostname()
      .replace(/[^\w.:-]/g, '-')
      .slice(0, 96) || 'node';
  return (generatedNodeId ??= `${host}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

function requireObject(value: unknown, name: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ClusterConfigError(name, value, 'an object');
  }
}

function hook<T>(value: T | undefined, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new ClusterConfigError(name, value, 'a function');
  return value;
}
