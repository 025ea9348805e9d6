import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { HEARTBEAT_INTERVAL_MS, MAX_TIMER_MS } from './cluster.constants.js';
import { ClusterConfigError } from './cluster.errors.js';
import type {
  ClusterBootstrapOptions,
  ClusteredApp,
  ConfigureAppHook,
  CreateAppHook,
  ListenAppHook,
  ResolvedClusterOptions,
  StickyMode,
} from './interfaces/bootstrap-options.interface.js';
import { SERIALIZATIONS, type Serialization } from './messaging/payload-codec.js';
import { availableCpus } from './primary/available-cpus.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Defaults of every option, in one place (the README's table mirrors it). */
export const CLUSTER_DEFAULTS = {
  workers: 'auto',
  enabled: true,
  name: 'default',
  port: 3000,
  host: undefined,
  sticky: false,
  perWorkerJobs: false,
  readyTimeoutMs: 30_000,
  serialization: 'json',
  unresponsiveMs: 10_000,
  messaging: {
    maxMessageBytes: 1_048_576,
    maxQueueBytes: 67_108_864,
    maxPendingRequests: 10_000,
  },
  shutdown: { timeoutMs: 10_000 },
  leadership: { ttlMs: 9_000, renewMs: 3_000, retryMs: 1_000 },
  restart: {
    maxRestarts: 10,
    windowMs: 60_000,
    initialDelayMs: 100,
    factor: 2,
    maxDelayMs: 15_000,
    resetAfterMs: 30_000,
    maxMemoryMb: 0,
    memoryCheckIntervalMs: 5_000,
  },
} as const;

/** Environment variables read by `resolveClusterOptions`. */
export const CLUSTER_ENV = {
  workers: 'CLUSTER_WORKERS',
  enabled: 'CLUSTER_ENABLED',
  nodeId: 'CLUSTER_NODE_ID',
  redisUrl: 'CLUSTER_REDIS_URL',
  name: 'CLUSTER_NAME',
  port: 'PORT',
  host: 'CLUSTER_HOST',
  sticky: 'CLUSTER_STICKY',
  perWorkerJobs: 'CLUSTER_PER_WORKER_JOBS',
  readyTimeoutMs: 'CLUSTER_READY_TIMEOUT_MS',
  serialization: 'CLUSTER_SERIALIZATION',
  unresponsiveMs: 'CLUSTER_UNRESPONSIVE_MS',
  maxMessageBytes: 'CLUSTER_MAX_MESSAGE_BYTES',
  maxQueueBytes: 'CLUSTER_MAX_QUEUE_BYTES',
  maxPendingRequests: 'CLUSTER_MAX_PENDING_REQUESTS',
  shutdownTimeoutMs: 'CLUSTER_SHUTDOWN_TIMEOUT_MS',
  maxRestarts: 'CLUSTER_MAX_RESTARTS',
  restartWindowMs: 'CLUSTER_RESTART_WINDOW_MS',
  maxMemoryMb: 'CLUSTER_MAX_MEMORY_MB',
  leaderTtlMs: 'CLUSTER_LEADER_TTL_MS',
  leaderRenewMs: 'CLUSTER_LEADER_RENEW_MS',
  leaderRetryMs: 'CLUSTER_LEADER_RETRY_MS',
} as const;

/** Below three heartbeats, one late timer in a busy but healthy worker would look like a hang. */
const MIN_UNRESPONSIVE_MS = 3 * HEARTBEAT_INTERVAL_MS;
const GIB = 1_073_741_824;

/**
 * Applies explicit option > environment > default, and validates each value. Throws a
 * `ClusterConfigError` naming the first bad setting, its value and what is allowed.
 */
export function resolveClusterOptions<App extends ClusteredApp>(
  options: ClusterBootstrapOptions<App> = {},
  env: Env = process.env,
  countCpus: () => number = () => availableCpus().cpus,
): ResolvedClusterOptions {
  requireObject(options, 'options');
  requireObject(options.restart ?? {}, 'options.restart');
  requireObject(options.shutdown ?? {}, 'options.shutdown');
  requireObject(options.leadership ?? {}, 'options.leadership');
  const leadership = options.leadership ?? {};
  requireObject(options.messaging ?? {}, 'options.messaging');
  const workersSetting = pick(options.workers, 'options.workers', env, CLUSTER_ENV.workers, CLUSTER_DEFAULTS.workers, parseWorkers);
  const restart = options.restart ?? {};
  const messaging = options.messaging ?? {};
  const resolved: ResolvedClusterOptions = {
    workersSetting,
    workers: workersSetting === 'auto' ? countCpus() : workersSetting,
    enabled: pick(options.enabled, 'options.enabled', env, CLUSTER_ENV.enabled, CLUSTER_DEFAULTS.enabled, parseBoolean),
    redisUrl: pick<string | undefined>(options.redisUrl, 'options.redisUrl', env, CLUSTER_ENV.redisUrl, undefined, parseRedisUrl),
    name: pick(options.name, 'options.name', env, CLUSTER_ENV.name, CLUSTER_DEFAULTS.name, parseNodeId),
    nodeId: pick<string | undefined>(options.nodeId, 'options.nodeId', env, CLUSTER_ENV.nodeId, undefined, parseNodeId) ?? freshNodeId(),
    port: pick(options.port, 'options.port', env, CLUSTER_ENV.port, CLUSTER_DEFAULTS.port, integer(0, 65_535)),
    host: pick<string | undefined>(options.host, 'options.host', env, CLUSTER_ENV.host, CLUSTER_DEFAULTS.host, parseHost),
    sticky: pick(options.sticky, 'options.sticky', env, CLUSTER_ENV.sticky, CLUSTER_DEFAULTS.sticky, parseSticky),
    perWorkerJobs: pick(options.perWorkerJobs, 'options.perWorkerJobs', env, CLUSTER_ENV.perWorkerJobs, CLUSTER_DEFAULTS.perWorkerJobs, parseBoolean),
    readyTimeoutMs: pick(
      options.readyTimeoutMs,
      'options.readyTimeoutMs',
      env,
      CLUSTER_ENV.readyTimeoutMs,
      CLUSTER_DEFAULTS.readyTimeoutMs,
      integer(1, MAX_TIMER_MS),
    ),
    serialization: pick(
      options.serialization,
      'options.serialization',
      env,
      CLUSTER_ENV.serialization,
      CLUSTER_DEFAULTS.serialization,
      parseSerialization,
    ),
    unresponsiveMs: pick(
      options.unresponsiveMs,
      'options.unresponsiveMs',
      env,
      CLUSTER_ENV.unresponsiveMs,
      CLUSTER_DEFAULTS.unresponsiveMs,
      parseUnresponsiveMs,
    ),
    messaging: {
      maxMessageBytes: pick(
        messaging.maxMessageBytes,
        'options.messaging.maxMessageBytes',
        env,
        CLUSTER_ENV.maxMessageBytes,
        CLUSTER_DEFAULTS.messaging.maxMessageBytes,
        integer(1_024, GIB),
      ),
      maxQueueBytes: pick(
        messaging.maxQueueBytes,
        'options.messaging.maxQueueBytes',
        env,
        CLUSTER_ENV.maxQueueBytes,
        CLUSTER_DEFAULTS.messaging.maxQueueBytes,
        integer(65_536, 16 * GIB),
      ),
      maxPendingRequests: pick(
        messaging.maxPendingRequests,
        'options.messaging.maxPendingRequests',
        env,
        CLUSTER_ENV.maxPendingRequests,
        CLUSTER_DEFAULTS.messaging.maxPendingRequests,
        integer(1, 10_000_000),
      ),
    },
    shutdown: {
      timeoutMs: pick(
        options.shutdown?.timeoutMs,
        'options.shutdown.timeoutMs',
        env,
        CLUSTER_ENV.shutdownTimeoutMs,
        CLUSTER_DEFAULTS.shutdown.timeoutMs,
        integer(0, MAX_TIMER_MS),
      ),
    },
    leadership: {
      ttlMs: pick(
        leadership.ttlMs,
        'options.leadership.ttlMs',
        env,
        CLUSTER_ENV.leaderTtlMs,
        CLUSTER_DEFAULTS.leadership.ttlMs,
        integer(100, MAX_TIMER_MS),
      ),
      renewMs: pick(
        leadership.renewMs,
        'options.leadership.renewMs',
        env,
        CLUSTER_ENV.leaderRenewMs,
        CLUSTER_DEFAULTS.leadership.renewMs,
        integer(10, MAX_TIMER_MS),
      ),
      retryMs: pick(
        leadership.retryMs,
        'options.leadership.retryMs',
        env,
        CLUSTER_ENV.leaderRetryMs,
        CLUSTER_DEFAULTS.leadership.retryMs,
        integer(10, MAX_TIMER_MS),
      ),
    },
    restart: {
      maxRestarts: pick(
        restart.maxRestarts,
        'options.restart.maxRestarts',
        env,
        CLUSTER_ENV.maxRestarts,
        CLUSTER_DEFAULTS.restart.maxRestarts,
        integer(1, 1_000_000),
      ),
      windowMs: pick(
        restart.windowMs,
        'options.restart.windowMs',
        env,
        CLUSTER_ENV.restartWindowMs,
        CLUSTER_DEFAULTS.restart.windowMs,
        integer(1, MAX_TIMER_MS),
      ),
      initialDelayMs: pick(
        restart.initialDelayMs,
        'options.restart.initialDelayMs',
        env,
        undefined,
        CLUSTER_DEFAULTS.restart.initialDelayMs,
        integer(0, MAX_TIMER_MS),
      ),
      factor: pick(restart.factor, 'options.restart.factor', env, undefined, CLUSTER_DEFAULTS.restart.factor, number(1, 100)),
      maxDelayMs: pick(
        restart.maxDelayMs,
        'options.restart.maxDelayMs',
        env,
        undefined,
        CLUSTER_DEFAULTS.restart.maxDelayMs,
        integer(0, MAX_TIMER_MS),
      ),
      resetAfterMs: pick(
        restart.resetAfterMs,
        'options.restart.resetAfterMs',
        env,
        undefined,
        CLUSTER_DEFAULTS.restart.resetAfterMs,
        integer(0, MAX_TIMER_MS),
      ),
      maxMemoryMb: pick(
        restart.maxMemoryMb,
        'options.restart.maxMemoryMb',
        env,
        CLUSTER_ENV.maxMemoryMb,
        CLUSTER_DEFAULTS.restart.maxMemoryMb,
        integer(0, 1_048_576),
      ),
      memoryCheckIntervalMs: pick(
        restart.memoryCheckIntervalMs,
        'options.restart.memoryCheckIntervalMs',
        env,
        undefined,
        CLUSTER_DEFAULTS.restart.memoryCheckIntervalMs,
        integer(10, MAX_TIMER_MS),
      ),
    },
    // The hooks' app type is the user's; the runtime handles every kind alike.
    createApp: hook(options.createApp as CreateAppHook<ClusteredApp> | undefined, 'options.createApp'),
    configure: hook(options.configure as ConfigureAppHook<ClusteredApp> | undefined, 'options.configure'),
    listen: hook(options.listen as ListenAppHook<ClusteredApp> | undefined, 'options.listen'),
  };
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
  return resolved;
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

/** Validates one setting; `raw` is a string from the environment or the option's own value. */
interface Parser<T> {
  (raw: unknown, fromEnv: boolean): T | undefined;
  /** What is allowed, in words, for the error message. */
  readonly allowed: string;
}

function pick<T>(option: unknown, optionName: string, env: Env, envName: string | undefined, fallback: T, parse: Parser<T>): T {
  if (option !== undefined) return parseOrThrow(parse, option, false, optionName);
  const raw = envName === undefined ? undefined : env[envName];
  // An empty variable (`PORT=`) is treated as unset, as shells and dotenv files commonly produce it.
  if (envName !== undefined && raw !== undefined && raw.trim() !== '') {
    return parseOrThrow(parse, raw, true, envName);
  }
  return fallback;
}

function parseOrThrow<T>(parse: Parser<T>, raw: unknown, fromEnv: boolean, setting: string): T {
  // The error shows the value as given; parsing forgives surrounding blanks in the environment.
  const value = parse(fromEnv ? (raw as string).trim() : raw, fromEnv);
  if (value === undefined) throw new ClusterConfigError(setting, raw, parse.allowed);
  return value;
}

function parser<T>(allowed: string, parse: (raw: unknown, fromEnv: boolean) => T | undefined): Parser<T> {
  return Object.assign(parse, { allowed });
}

function toNumber(raw: unknown, fromEnv: boolean): number | undefined {
  if (fromEnv) return /^[+-]?\d+(\.\d+)?$/.test(raw as string) ? Number(raw) : undefined;
  return typeof raw === 'number' && Number.isFinite(raw) ? raw : undefined;
}

function integer(min: number, max: number): Parser<number> {
  return parser(`a whole number from ${min} to ${max}`, (raw, fromEnv) => {
    const n = toNumber(raw, fromEnv);
    return n !== undefined && Number.isInteger(n) && n >= min && n <= max ? n : undefined;
  });
}

function number(min: number, max: number): Parser<number> {
  return parser(`a number from ${min} to ${max}`, (raw, fromEnv) => {
    const n = toNumber(raw, fromEnv);
    return n !== undefined && n >= min && n <= max ? n : undefined;
  });
}

const parseWorkers = parser<number | 'auto'>('a whole number from 1 to 4096, or "auto"', (raw, fromEnv) => {
  if (raw === 'auto' || (fromEnv && (raw as string).toLowerCase() === 'auto')) return 'auto';
  const n = toNumber(raw, fromEnv);
  return n !== undefined && Number.isInteger(n) && n >= 1 && n <= 4096 ? n : undefined;
});

const parseUnresponsiveMs = parser<number>(`0 (off) or a whole number from ${MIN_UNRESPONSIVE_MS} to ${MAX_TIMER_MS}`, (raw, fromEnv) => {
  const n = toNumber(raw, fromEnv);
  return n !== undefined && Number.isInteger(n) && (n === 0 || (n >= MIN_UNRESPONSIVE_MS && n <= MAX_TIMER_MS)) ? n : undefined;
});

const parseSerialization = parser<Serialization>(SERIALIZATIONS.map((s) => `"${s}"`).join(' or '), (raw) =>
  SERIALIZATIONS.includes(raw as Serialization) ? (raw as Serialization) : undefined,
);

const parseSticky = parser<StickyMode | false>('false (also "off"), "sid" or "ip"', (raw, fromEnv) => {
  if (raw === false || raw === 'sid' || raw === 'ip') return raw;
  if (!fromEnv) return undefined;
  const word = (raw as string).toLowerCase();
  if (word === 'sid' || word === 'ip') return word;
  return word === 'off' || word === 'false' ? false : undefined;
});

/** An IP address, or a host name (letters, digits, `.` and `-`) that resolves to one. */
const parseHost = parser<string>('an IP address (such as "0.0.0.0" or "::") or a host name', (raw) =>
  typeof raw === 'string' && (isIP(raw) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(raw)) ? raw : undefined,
);

const NODE_ID = /^[\w.:-]{1,128}$/;

const parseRedisUrl = parser<string>('a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379', (raw) => {
  if (typeof raw !== 'string') return undefined;
  try {
    const url = new URL(raw);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '' ? raw : undefined;
  } catch {
    return undefined;
  }
});
const parseNodeId = parser<string>('1 to 128 letters, digits, ".", "_", ":" or "-"', (raw) =>
  typeof raw === 'string' && NODE_ID.test(raw) ? raw : undefined,
);

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

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);
const parseBoolean = parser<boolean>('true or false (also 1/0, yes/no, on/off)', (raw, fromEnv) => {
  if (!fromEnv) return typeof raw === 'boolean' ? raw : undefined;
  const word = (raw as string).toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
});

function requireObject(value: unknown, name: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ClusterConfigError(name, value, 'an object');
  }
}

function hook<T>(value: T | undefined, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new ClusterConfigError(name, value, 'a function');
  return value;
}
