import type { ConnectionDistribution } from '../interfaces/bootstrap-options.interface.js';
import {
  integer,
  MAX_STANDBY,
  milliseconds,
  number,
  oneOf,
  parseBoolean,
  parseControl,
  parseDistribution,
  parseHost,
  parseNatsUrl,
  parseNodeId,
  parseReadableFile,
  parseRedisUrl,
  parseSecret,
  parseSerialization,
  parseSticky,
  parseUnresponsiveMs,
  parseUserName,
  parseWorkers,
  type Parser,
} from './option-parsers.js';

const GIB = 1_073_741_824;

/** Environment variables of the settings, by a short name of each. */
export const CLUSTER_ENV = {
  workers: 'CLUSTER_WORKERS',
  standby: 'CLUSTER_STANDBY',
  enabled: 'CLUSTER_ENABLED',
  nodeId: 'CLUSTER_NODE_ID',
  redisUrl: 'CLUSTER_REDIS_URL',
  natsUrl: 'CLUSTER_NATS_URL',
  natsUser: 'CLUSTER_NATS_USER',
  natsPass: 'CLUSTER_NATS_PASS',
  natsToken: 'CLUSTER_NATS_TOKEN',
  natsCredsFile: 'CLUSTER_NATS_CREDS',
  natsTlsCaFile: 'CLUSTER_NATS_TLS_CA',
  natsTlsCertFile: 'CLUSTER_NATS_TLS_CERT',
  natsTlsKeyFile: 'CLUSTER_NATS_TLS_KEY',
  name: 'CLUSTER_NAME',
  control: 'CLUSTER_CONTROL_SOCKET',
  port: 'PORT',
  host: 'CLUSTER_HOST',
  sticky: 'CLUSTER_STICKY',
  distribution: 'CLUSTER_DISTRIBUTION',
  perWorkerJobs: 'CLUSTER_PER_WORKER_JOBS',
  readyTimeoutMs: 'CLUSTER_READY_TIMEOUT_MS',
  serialization: 'CLUSTER_SERIALIZATION',
  unresponsiveMs: 'CLUSTER_UNRESPONSIVE_MS',
  maxMessageBytes: 'CLUSTER_MAX_MESSAGE_BYTES',
  maxQueueBytes: 'CLUSTER_MAX_QUEUE_BYTES',
  maxPendingRequests: 'CLUSTER_MAX_PENDING_REQUESTS',
  shutdownTimeoutMs: 'CLUSTER_SHUTDOWN_TIMEOUT_MS',
  shutdownDelayMs: 'CLUSTER_SHUTDOWN_DELAY_MS',
  logs: 'CLUSTER_LOGS',
  bootLogs: 'CLUSTER_BOOT_LOGS',
  maxRestarts: 'CLUSTER_MAX_RESTARTS',
  restartWindowMs: 'CLUSTER_RESTART_WINDOW_MS',
  restartInitialDelayMs: 'CLUSTER_RESTART_INITIAL_DELAY_MS',
  restartFactor: 'CLUSTER_RESTART_FACTOR',
  restartMaxDelayMs: 'CLUSTER_RESTART_MAX_DELAY_MS',
  restartResetAfterMs: 'CLUSTER_RESTART_RESET_AFTER_MS',
  maxMemoryMb: 'CLUSTER_MAX_MEMORY_MB',
  memoryCheckIntervalMs: 'CLUSTER_MEMORY_CHECK_INTERVAL_MS',
  leaderTtlMs: 'CLUSTER_LEADER_TTL_MS',
  leaderRenewMs: 'CLUSTER_LEADER_RENEW_MS',
  leaderRetryMs: 'CLUSTER_LEADER_RETRY_MS',
} as const;

/** One setting of `bootstrapClustered`: its variable, what it accepts, its default and its line in docs/configuration.md. */
export interface Setting<T> {
  readonly env: string;
  readonly parse: Parser<T>;
  readonly fallback: T;
  /** The default column of docs/configuration.md, where the value itself does not say it. */
  readonly shown?: string;
  /** The meaning column of docs/configuration.md. */
  readonly doc: string;
}

function setting<T>(env: string, parse: Parser<T>, fallback: T, doc: string, shown?: string): Setting<T> {
  return { env, parse, fallback, doc, ...(shown !== undefined && { shown }) };
}

/**
 * Every setting of `bootstrapClustered`, in the shape of its options (a group is an object of
 * settings): the one table that gives the parsing and its errors, the defaults, `clusterConfig`, and
 * the options table of docs/configuration.md (a test compares them). Resolution follows this order.
 */
export const OPTION_SCHEMA = {
  workers: setting<number | 'auto'>(
    CLUSTER_ENV.workers,
    parseWorkers,
    'auto',
    "the CPUs this process may really use for `'auto'` (affinity mask and cgroup v1/v2 CPU quota, rounded up, at least 1), not the host's core count",
  ),
  standby: setting(
    CLUSTER_ENV.standby,
    integer(0, MAX_STANDBY),
    0,
    "warm standbys: extra workers booted and initialized that take no connections, no messages and no leadership, and are not in `workers()`; when a worker dies unexpectedly one takes its slot at once and another boots behind it. Each costs one worker's memory (see [Warm standby](supervision.md#warm-standby))",
  ),
  enabled: setting(
    CLUSTER_ENV.enabled,
    parseBoolean,
    true,
    '`false` runs the app in this process, no fork (development, debugging); `ClusterService` still works, role `standalone`',
  ),
  nodeId: setting<string | undefined>(
    CLUSTER_ENV.nodeId,
    parseNodeId,
    undefined,
    "this node's name (see [Nodes and addresses](nodes.md#nodes-and-addresses)), e.g. the pod's name",
    '`<hostname>-<pid>-<random>`, new at each start',
  ),
  redisUrl: setting<string | undefined>(
    CLUSTER_ENV.redisUrl,
    parseRedisUrl,
    undefined,
    'the nodes sharing it form one cluster (see [Over Redis](nodes.md#over-redis)); needs `ioredis` installed',
  ),
  natsUrl: setting<string | undefined>(
    CLUSTER_ENV.natsUrl,
    parseNatsUrl,
    undefined,
    'the nodes sharing this NATS server form one cluster, instead of Redis (see [Over NATS](nodes.md#over-nats)); needs `@nats-io/transport-node` installed; not with `redisUrl`. `tls://` requires TLS; credentials in the URL (`nats://user:password@host`, `nats://token@host`) or in `nats.*`, not both',
  ),
  nats: {
    user: setting<string | undefined>(
      CLUSTER_ENV.natsUser,
      parseUserName,
      undefined,
      'user name for NATS user and password authentication, with `nats.pass`',
    ),
    pass: setting<string | undefined>(CLUSTER_ENV.natsPass, parseSecret, undefined, 'the password of `nats.user` (an error never shows it)'),
    token: setting<string | undefined>(
      CLUSTER_ENV.natsToken,
      parseSecret,
      undefined,
      'token authentication (an error never shows it); not with `nats.user` or `nats.credsFile`',
    ),
    credsFile: setting<string | undefined>(
      CLUSTER_ENV.natsCredsFile,
      parseReadableFile,
      undefined,
      'a `.creds` file (a user JWT and its NKey seed, as `nsc` writes them) for decentralized authentication; not with `nats.user`',
    ),
    tls: {
      caFile: setting<string | undefined>(
        CLUSTER_ENV.natsTlsCaFile,
        parseReadableFile,
        undefined,
        "the certificate authorities (PEM) the server's certificate is checked against, for a private CA; any `nats.tls.*` requires TLS",
        "unset: the system's",
      ),
      certFile: setting<string | undefined>(
        CLUSTER_ENV.natsTlsCertFile,
        parseReadableFile,
        undefined,
        "this client's certificate (PEM), for a server that verifies clients; with `nats.tls.keyFile`",
      ),
      keyFile: setting<string | undefined>(CLUSTER_ENV.natsTlsKeyFile, parseReadableFile, undefined, 'the private key (PEM) of `nats.tls.certFile`'),
    },
  },
  name: setting(CLUSTER_ENV.name, parseNodeId, 'default', "the cluster's name: services sharing one Redis are separate clusters by name"),
  control: setting<string | undefined>(
    CLUSTER_ENV.control,
    parseControl,
    undefined,
    "the primary's control socket for the `nestjs-cluster` command (see [the command](cli.md)); `'off'` for none",
    '`$XDG_RUNTIME_DIR/nestjs-cluster/<name>.sock`, else `<tmp>/nestjs-cluster-<uid>/<name>.sock`',
  ),
  port: setting(
    CLUSTER_ENV.port,
    integer(0, 65_535),
    3000,
    'passed to `listen`; in sticky mode the primary listens on it (`0`: a free port, logged)',
  ),
  host: setting<string | undefined>(
    CLUSTER_ENV.host,
    parseHost,
    undefined,
    "the address to listen on: the default `listen` calls `app.listen(port, host)`, and in sticky mode the primary listens there; set `'0.0.0.0'` for Fastify, which otherwise listens on localhost only",
    'unset: every interface',
  ),
  readyTimeoutMs: setting(
    CLUSTER_ENV.readyTimeoutMs,
    milliseconds(1),
    30_000,
    'a worker whose `listen` has not resolved by then is killed and counts as a failed start',
  ),
  serialization: setting(
    CLUSTER_ENV.serialization,
    parseSerialization,
    'json',
    "how messages between workers are serialized (see [Serialization](messages.md#serialization)); applies to the IPC channel, so the app's own `process.send` follows it too",
  ),
  unresponsiveMs: setting(
    CLUSTER_ENV.unresponsiveMs,
    parseUnresponsiveMs,
    10_000,
    'a ready worker whose event loop gives no sign of life this long is replaced, then killed (see [Hung workers](supervision.md#hung-workers))',
  ),
  messaging: {
    maxMessageBytes: setting(
      CLUSTER_ENV.maxMessageBytes,
      integer(1_024, GIB),
      1_048_576,
      'largest serialized data of one message; a larger one fails at the call with `MessageTooLargeError`',
      '`1048576` (1 MiB)',
    ),
    maxQueueBytes: setting(
      CLUSTER_ENV.maxQueueBytes,
      integer(65_536, 16 * GIB),
      67_108_864,
      'how far one worker may fall behind on its messages before messages to it are dropped (see [Delivery](messages.md#delivery-and-back-pressure)); at least `maxMessageBytes`',
      '`67108864` (64 MiB)',
    ),
    maxPendingRequests: setting(
      CLUSTER_ENV.maxPendingRequests,
      integer(1, 10_000_000),
      10_000,
      'requests one worker may have waiting for a reply; one more fails at once with `RequestLimitError`',
    ),
  },
  shutdown: {
    timeoutMs: setting(CLUSTER_ENV.shutdownTimeoutMs, milliseconds(0), 10_000, 'drain time before SIGKILL'),
    delayMs: setting(
      CLUSTER_ENV.shutdownDelayMs,
      integer(0, 600_000),
      0,
      "on SIGTERM/SIGINT, readiness (`isAcceptingTraffic`) goes down at once and the workers keep serving this long before the drain begins, so a load balancer (Kubernetes' endpoints) stops sending first; the primary's deadline is `delayMs + timeoutMs` (see [Stopping behind a load balancer](supervision.md#stopping-behind-a-load-balancer))",
    ),
  },
  restart: {
    maxRestarts: setting(
      CLUSTER_ENV.maxRestarts,
      integer(1, 1_000_000),
      10,
      'unexpected exits within `restart.windowMs` that count as a crash loop (exit 70)',
    ),
    windowMs: setting(CLUSTER_ENV.restartWindowMs, milliseconds(1), 60_000, 'the sliding window of the crash-loop count'),
    initialDelayMs: setting(CLUSTER_ENV.restartInitialDelayMs, milliseconds(0), 100, "delay before a slot's first restart"),
    factor: setting(CLUSTER_ENV.restartFactor, number(1, 100), 2, 'growth of the delay per consecutive failure of the slot'),
    maxDelayMs: setting(CLUSTER_ENV.restartMaxDelayMs, milliseconds(0), 15_000, 'cap of the delay; at least `restart.initialDelayMs`'),
    resetAfterMs: setting(CLUSTER_ENV.restartResetAfterMs, milliseconds(0), 30_000, "a worker that stayed ready this long resets its slot's delay"),
    maxMemoryMb: setting(
      CLUSTER_ENV.maxMemoryMb,
      integer(0, 1_048_576),
      0,
      'memory guard: a worker above this resident memory is replaced the rolling way, never killed mid-request. Linux only (read from `/proc/<pid>/status`): elsewhere nothing can be read, so no worker is ever replaced, and nothing says so (see [Memory guard](supervision.md#memory-guard))',
      '`0` (off)',
    ),
    memoryCheckIntervalMs: setting(
      CLUSTER_ENV.memoryCheckIntervalMs,
      milliseconds(10),
      5_000,
      "how often the primary samples each worker's memory for `restart.maxMemoryMb` (Linux only)",
    ),
  },
  logs: setting(
    CLUSTER_ENV.logs,
    oneOf('tagged', 'inherit'),
    'tagged',
    "`'tagged'`: the workers' stdout and stderr go through the primary, whole lines each tagged with the slot (`[w3] ` before a line, a `slot` field in a JSON line; see [Logs](supervision.md#logs)); `'inherit'`: workers write straight to the primary's stdout and stderr, untagged",
  ),
  bootLogs: setting(
    CLUSTER_ENV.bootLogs,
    oneOf('first', 'all'),
    'first',
    "`'first'`: what a worker prints before it is ready is shown for the first worker only, held and dropped for the others and for replacements (shown in full if one fails to boot; stderr and warn/error lines always shown); `'all'`: every worker's. Needs `logs: 'tagged'`",
  ),
  sticky: setting(
    CLUSTER_ENV.sticky,
    parseSticky,
    false,
    "`'sid'`: the primary owns the port and hands each connection to the worker of its socket.io session (every socket.io server of a worker names its sessions after the slot); `'ip'`: by a hash of the client's address; `false`: workers listen, node:cluster deals connections (see [WebSockets](websockets.md)). Workers never listen in sticky mode: a `listen` hook is refused (exit 78), set `host` instead",
  ),
  distribution: setting<ConnectionDistribution>(
    CLUSTER_ENV.distribution,
    parseDistribution,
    'primary',
    "who deals the connections of the workers' servers (HTTP, Fastify, TCP microservice): `'primary'` listens on their port and hands each connection to the next ready worker, giving one that a killed worker never took to another (see [Connection distribution](supervision.md#connection-distribution)); `'node'`: node:cluster's own round robin, where such a connection hangs until its client gives up",
  ),
  perWorkerJobs: setting(
    CLUSTER_ENV.perWorkerJobs,
    parseBoolean,
    false,
    '`true` when the app means to run its `@nestjs/schedule` jobs on every worker; otherwise, with jobs registered, more than one worker and no `ClusterScheduleModule`, the primary warns once at boot, naming the jobs (see [Scheduled jobs](leadership.md#scheduled-jobs-on-the-leader-only))',
  ),
  leadership: {
    ttlMs: setting(
      CLUSTER_ENV.leaderTtlMs,
      milliseconds(100),
      9_000,
      'life of the leadership lease in Redis (several nodes only; see [Several nodes](leadership.md#several-nodes))',
    ),
    renewMs: setting(CLUSTER_ENV.leaderRenewMs, milliseconds(10), 3_000, 'the holder renews the lease this often; at most half of `ttlMs`'),
    retryMs: setting(CLUSTER_ENV.leaderRetryMs, milliseconds(10), 1_000, 'nodes without the lease try to take it this often; at most `renewMs`'),
  },
};

/** The hooks: code, not settings (no variable, no validation beyond being a function). */
export const OPTION_HOOKS = [
  {
    name: 'createApp',
    shown: '`(m) => NestFactory.create(m)`',
    doc: '`(module, { port }) => app`: creates the app in a worker (Fastify adapter, a microservice, a context; see [App kinds](app-kinds.md)); its type is what `configure`, `listen` and the result see',
  },
  { name: 'configure', shown: '', doc: '`(app) => ...` before listening: global pipes, prefixes, CORS, `connectMicroservice`' },
  { name: 'listen', shown: 'by kind, see below', doc: 'starts accepting work; the worker is `ready` when it resolves. Not with `sticky`' },
  {
    name: 'onPrimaryEvent',
    shown: '',
    doc: '`(event) => ...` in the primary, synchronously, for each event of this node it decides: fork, ready, `cluster-ready`, exit, restarts, crash loop, shutdown, rolling restart steps, leader, and last `stopped` with the exit code (see [Primary events](supervision.md#primary-events)); one that throws is logged once',
  },
] as const;

/** A group of settings, in the shape of the options. */
export interface SettingGroup {
  readonly [key: string]: Setting<unknown> | SettingGroup;
}

/** The values a schema (or one of its groups) resolves to, in its shape. */
export type Resolved<S> = { -readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : Resolved<S[K]> };

export function isSetting(entry: Setting<unknown> | SettingGroup): entry is Setting<unknown> {
  return typeof (entry as Setting<unknown>).parse === 'function';
}

/** Every setting with its dotted path (`shutdown.timeoutMs`), in the schema's order. */
export function settingPaths(group: SettingGroup = OPTION_SCHEMA, prefix = ''): Array<[string, Setting<unknown>]> {
  return Object.entries(group).flatMap(([key, entry]) =>
    isSetting(entry) ? [[`${prefix}${key}`, entry] as [string, Setting<unknown>]] : settingPaths(entry, `${prefix}${key}.`),
  );
}

/** The defaults of a schema, in its shape. */
export function defaultsOf<S extends SettingGroup>(group: S): Resolved<S> {
  return Object.fromEntries(Object.entries(group).map(([key, entry]) => [key, isSetting(entry) ? entry.fallback : defaultsOf(entry)])) as Resolved<S>;
}

/**
 * The options table of docs/configuration.md, one row a setting then a hook: option, env, default, allowed, meaning
 * (markdown cells, unpadded).
 */
export function optionTableRows(): string[][] {
  const settings = settingPaths().map(([path, s]) => [`\`${path}\``, `\`${s.env}\``, s.shown ?? shownValue(s.fallback), s.parse.allowed, s.doc]);
  const hooks = OPTION_HOOKS.map((h) => [`\`${h.name}\``, '', h.shown, 'a function', h.doc]);
  return [...settings, ...hooks];
}

function shownValue(value: unknown): string {
  if (value === undefined) return 'unset';
  return typeof value === 'string' ? `\`'${value}'\`` : `\`${String(value)}\``;
}
