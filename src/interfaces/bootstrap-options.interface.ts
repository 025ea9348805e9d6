import type { INestApplication, INestApplicationContext, INestMicroservice } from '@nestjs/common';
import type { IEntryNestModule } from '@nestjs/core';
import type { Serialization } from '../messaging/payload-codec.js';
import type { ClusterEvent } from './cluster-event.interface.js';

/**
 * Every kind of Nest application a worker can run: an HTTP app (express or Fastify, with or without
 * connected microservices: a hybrid app), a microservice (`NestFactory.createMicroservice`, any
 * transport), or an application context with no listener (`NestFactory.createApplicationContext`,
 * a queue consumer, a scheduler).
 */
export type ClusteredApp = INestApplication | INestMicroservice | INestApplicationContext;

/** What `createApp` is told. */
export interface CreateAppContext {
  /** The resolved port (option `port`, env `PORT`, default 3000), for a microservice's own options. */
  readonly port: number;
}

/** Creates the Nest application in a worker (or in the one process when clustering is off). */
export type CreateAppHook<App extends ClusteredApp = INestApplication> = (module: IEntryNestModule, context: CreateAppContext) => Promise<App> | App;
/** Runs after the app is created and before it listens: global pipes, prefixes, middleware. What it returns is awaited, then ignored, so `(app) => app.useWebSocketAdapter(...)` needs no braces. */
export type ConfigureAppHook<App extends ClusteredApp = INestApplication> = (app: App) => unknown;
/**
 * Makes the app accept work. A worker counts as `ready` once the returned promise resolves. The
 * default fits the kind: `app.listen(port)` for an HTTP app (after `startAllMicroservices()` for a
 * hybrid one), `app.listen()` for a microservice, `app.init()` for an application context.
 */
export type ListenAppHook<App extends ClusteredApp = INestApplication> = (app: App, port: number) => unknown;

/**
 * Hears, in the primary, every event of this node as the primary emits it: synchronously, in order,
 * before the workers hear it. What it returns is ignored; what it throws (or a promise it returns
 * rejects with) is logged once and never stops the primary.
 */
export type PrimaryEventHook = (event: ClusterEvent) => void;

/** How the primary picks the worker of a connection in sticky mode (see `ClusterBootstrapOptions.sticky`). */
export type StickyMode = 'sid' | 'ip';

/** Who deals the connections of the workers' servers (see `ClusterBootstrapOptions.distribution`). */
export type ConnectionDistribution = 'primary' | 'node';

/** Restart policy of the primary for workers that exit without being asked to. */
export interface ClusterRestartOptions {
  /**
   * Unexpected worker exits within `windowMs` that count as a crash loop: the cluster stops and the
   * primary exits 70. Env `CLUSTER_MAX_RESTARTS`.
   * @default 10
   */
  maxRestarts?: number;
  /**
   * Sliding window for `maxRestarts`, in milliseconds. Env `CLUSTER_RESTART_WINDOW_MS`.
   * @default 60000
   */
  windowMs?: number;
  /**
   * Delay before the first restart of a slot; doubles (`factor`) on each further failure of that slot.
   * Env `CLUSTER_RESTART_INITIAL_DELAY_MS`.
   * @default 100
   */
  initialDelayMs?: number;
  /**
   * Growth of the restart delay per consecutive failure of a slot.
   * Env `CLUSTER_RESTART_FACTOR`.
   * @default 2
   */
  factor?: number;
  /**
   * Upper bound of the restart delay.
   * Env `CLUSTER_RESTART_MAX_DELAY_MS`.
   * @default 15000
   */
  maxDelayMs?: number;
  /**
   * A worker that stayed ready this long resets its slot's delay back to `initialDelayMs`.
   * Env `CLUSTER_RESTART_RESET_AFTER_MS`.
   * @default 30000
   */
  resetAfterMs?: number;
  /**
   * Memory guard: a worker whose resident memory exceeds this many MB is replaced the rolling way
   * (replacement first, then the old one drains), never killed mid-request. 0 turns it off.
   * Linux only: the primary reads `/proc/<pid>/status`; where there is none (macOS, Windows) it reads
   * nothing, replaces no worker and says nothing. Env `CLUSTER_MAX_MEMORY_MB`.
   * @default 0
   */
  maxMemoryMb?: number;
  /**
   * How often the primary samples each worker's resident memory for `maxMemoryMb`.
   * Env `CLUSTER_MEMORY_CHECK_INTERVAL_MS`.
   * @default 5000
   */
  memoryCheckIntervalMs?: number;
}

/** Graceful shutdown of the whole cluster (SIGTERM / SIGINT to the primary). */
export interface ClusterShutdownOptions {
  /**
   * Time workers get to drain (finish in-flight requests, run Nest shutdown hooks) before SIGKILL.
   * Env `CLUSTER_SHUTDOWN_TIMEOUT_MS`.
   * @default 10000
   */
  timeoutMs?: number;
  /**
   * On SIGTERM/SIGINT, readiness (`ClusterHealthIndicator.isAcceptingTraffic`) goes down at once and
   * the workers keep serving this long before the drain begins: time for a load balancer (Kubernetes'
   * endpoints controller) to stop sending new connections before the workers close theirs. The
   * primary's deadline is `delayMs + timeoutMs`; Kubernetes' `terminationGracePeriodSeconds` should
   * be above it. 0 to 600000. Env `CLUSTER_SHUTDOWN_DELAY_MS`.
   * @default 0
   */
  delayMs?: number;
}

/**
 * Where the workers' output goes: `'tagged'` through the primary, each whole line tagged with its
 * slot (`[w3] ` before it, or a `"slot":3` field first in a JSON line); `'inherit'` straight to the
 * primary's stdout and stderr, as node:cluster does by default.
 */
export type WorkerLogMode = 'tagged' | 'inherit';

/** Whose boot output is shown: the first worker's only, or every worker's. */
export type BootLogMode = 'first' | 'all';

/**
 * Bounds of the messages between workers, so that no worker (a bug, a flood, a hung or slow reader)
 * can grow the primary's memory without limit.
 */
export interface ClusterMessagingOptions {
  /**
   * Largest serialized `data` of one message (publish, send, request or reply). A larger one fails at
   * the call with `MessageTooLargeError`; the primary drops any larger envelope it receives.
   * Env `CLUSTER_MAX_MESSAGE_BYTES`.
   * @default 1048576 (1 MiB)
   */
  maxMessageBytes?: number;
  /**
   * How far one worker may fall behind on its messages, in bytes (about the serialized size): what
   * the primary has written to it that it has not handled yet, plus what waits in the primary for it.
   * Past it, publish and send to that worker are dropped, and requests to it and replies for it fail
   * with `QueueFullError`, until it is back to half. Env `CLUSTER_MAX_QUEUE_BYTES`.
   * @default 67108864 (64 MiB)
   */
  maxQueueBytes?: number;
  /**
   * Requests one worker may have waiting for a reply at once; one more fails at once with
   * `RequestLimitError`. Env `CLUSTER_MAX_PENDING_REQUESTS`.
   * @default 10000
   */
  maxPendingRequests?: number;
}

/**
 * Options of `bootstrapClustered`. Every setting can also come from its environment variable (named on
 * each); the hooks (`createApp`, `configure`, `listen`, `onPrimaryEvent`) cannot. An explicit option
 * wins over the environment, which wins over the default. docs/configuration.md lists them all.
 */
export interface ClusterBootstrapOptions<App extends ClusteredApp = INestApplication> {
  /**
   * Number of workers: a whole number >= 1, or `'auto'` for the CPUs this process may really use
   * (CPU affinity and cgroup CPU quota, rounded up). Env `CLUSTER_WORKERS`.
   * @default 'auto'
   */
  workers?: number | 'auto';
  /**
   * Warm standbys: this many extra workers boot and initialize the app but take no connections and no
   * cluster messages, never lead and are not in `workers()`. When a worker exits unexpectedly, a standby
   * takes its slot at once (it only has to listen; no restart backoff, no Nest boot) and a new standby
   * boots in the background. Each costs one worker's memory. From 0 to 64. Env `CLUSTER_STANDBY`.
   * @default 0
   */
  standby?: number;
  /**
   * `false` runs the app in this process without forking (development, debugging); `ClusterService`
   * still works with role `standalone`. Env `CLUSTER_ENABLED`.
   * @default true
   */
  enabled?: boolean;
  /**
   * This node's name in the cluster (a node is one primary and its workers: a host, VM or pod), e.g.
   * the pod's name. 1 to 128 letters, digits, `.`, `_`, `:` or `-`. Env `CLUSTER_NODE_ID`.
   * @default a fresh `<hostname>-<pid>-<random>` each time the node starts, so a restarted node is a new member
   */
  nodeId?: string;
  /**
   * A Redis server (`redis://` or `rediss://` URL) that makes the nodes sharing it one cluster: the
   * same `ClusterService` across hosts or pods (`ioredis` must be installed). Unset: this node is the
   * cluster. Env `CLUSTER_REDIS_URL`.
   */
  redisUrl?: string;
  /**
   * A NATS server (`nats://` or `tls://` URL) that makes the nodes sharing it one cluster, as `redisUrl`
   * does (`@nats-io/transport-node` and `@nats-io/kv` must be installed). Not with `redisUrl`. `tls://`
   * requires TLS (the connection fails rather than go on in clear). Credentials may be in the URL
   * (`nats://user:password@host:4222`, `nats://token@host:4222`) or in `nats`, not in both. Env
   * `CLUSTER_NATS_URL`.
   * @example natsUrl: 'tls://nats.internal:4222'
   */
  natsUrl?: string;
  /**
   * Credentials and TLS of the connections to `natsUrl`; every one also from the environment, so
   * secrets can stay out of the code. Set only with `natsUrl`.
   * @example nats: { credsFile: '/var/run/secrets/nats/app.creds', tls: { caFile: '/etc/nats/ca.pem' } }
   */
  nats?: ClusterNatsOptions;
  /**
   * The cluster's name: services sharing one Redis server form separate clusters by name. Same
   * characters as `nodeId`. Env `CLUSTER_NAME`.
   * @default 'default'
   */
  name?: string;
  /**
   * Where the primary listens for the `nestjs-cluster` command (`status`, `reload`, `stop`, ...): an
   * absolute path for the Unix socket, or `'off'`. The socket is 0600 in a 0700 folder, and each call
   * also needs the token kept beside it (`<path>.token`, 0600). Env `CLUSTER_CONTROL_SOCKET`.
   * @default `$XDG_RUNTIME_DIR/nestjs-cluster/<name>.sock`, else `<os tmpdir>/nestjs-cluster-<uid>/<name>.sock`
   */
  control?: string;
  /**
   * Port passed to `listen`. Env `PORT`.
   * @default 3000
   */
  port?: number;
  /**
   * The address to listen on: the default `listen` passes it to `app.listen(port, host)`, and in sticky
   * mode the primary listens there. Unset, Node listens on every interface (`::`, and `0.0.0.0` where
   * IPv6 is off), except Fastify, which listens on `localhost` only: set `'0.0.0.0'` for Fastify in a
   * container. Env `CLUSTER_HOST`.
   * @example host: '0.0.0.0'
   */
  host?: string;
  /**
   * Sticky sessions for WebSockets (socket.io): the primary owns the port and hands each connection to
   * one worker, which serves it without listening on the port itself.
   * - `'sid'`: by the session id in the request's query (`?sid=`); needs the socket.io adapter of
   *   `nestjs-cluster/socket.io` (its session ids carry the worker's slot). A request without one (a
   *   handshake) goes to the next ready worker, round-robin. Plain HTTP only: TLS ends in front.
   * - `'ip'`: by a hash of the client's address over the ready workers, for clients that cannot send
   *   the sid; reshuffles when the set of ready workers changes.
   * - `false`: workers listen on the port and node:cluster balances connections.
   * Env `CLUSTER_STICKY` (`sid`, `ip`, or `off` / `false`).
   *
   * Workers do not listen in sticky mode, so a `listen` hook is refused at boot (exit 78): set `host`
   * for the address. With `'sid'`, every socket.io server the app creates names its sessions after
   * the worker's slot, whatever adapter the app uses for broadcasts.
   * @default false
   */
  sticky?: StickyMode | false;
  /**
   * Who deals the connections of the ports the workers' servers listen on (HTTP, Fastify, a TCP
   * microservice, a hybrid app's; with the default `listen` or your own).
   * - `'primary'`: the primary listens on the port for them and hands each connection, unread, to the
   *   next ready worker whose server listens there, keeping its own copy until the worker says it took
   *   it. A worker killed before that (SIGKILL, a crash) gives the connection back, and another ready
   *   worker answers it; with no ready worker it waits for one, 5 s at most, then is closed. A
   *   connection a worker had taken is lost with that worker and closed at once, never left hanging.
   * - `'node'`: node:cluster's own round robin (or `NODE_CLUSTER_SCHED_POLICY=none`): a connection
   *   handed to a worker that dies before accepting it stays open with nobody to answer, until the
   *   client gives up (nodejs/node#3551).
   * In sticky mode the sticky listener deals the HTTP port, with the same care, whatever this says.
   * Env `CLUSTER_DISTRIBUTION`.
   * @default 'primary'
   */
  distribution?: ConnectionDistribution;
  /**
   * `true` when the app means to run its `@nestjs/schedule` jobs (`@Cron`, `@Interval`, `@Timeout`)
   * in every worker. Otherwise, when such jobs are registered, more than one worker serves and
   * `ClusterScheduleModule` (which runs them on the leader only) is not imported, the primary warns
   * once at boot, naming the jobs. Env `CLUSTER_PER_WORKER_JOBS`.
   * @default false
   */
  perWorkerJobs?: boolean;
  /**
   * A worker whose `listen` has not resolved by then is killed and counts as a failed start.
   * Env `CLUSTER_READY_TIMEOUT_MS`.
   * @default 30000
   */
  readyTimeoutMs?: number;
  /**
   * How messages between workers are serialized: `'json'` (plain data, fastest) or `'advanced'`
   * (also Map, Set, Date, Buffer, BigInt, typed arrays; slower per message: docs/messages.md has the
   * measurement and its command). Applies to the
   * IPC channel, so the application's own `process.send` messages follow it too.
   * Env `CLUSTER_SERIALIZATION`.
   * @default 'json'
   */
  serialization?: Serialization;
  /**
   * A ready worker whose event loop gives no sign of life for this long (an endless loop, a deadlock,
   * SIGSTOP) is taken out of the routing, replaced, and SIGKILLed once its replacement is ready.
   * Workers prove they are alive every second from a timer, so only a loop blocked this long trips
   * it. 0 turns it off; otherwise at least 3000. Env `CLUSTER_UNRESPONSIVE_MS`.
   * @default 10000
   */
  unresponsiveMs?: number;
  /**
   * `'tagged'`: the workers' stdout and stderr reach the primary's whole, line by line, each line
   * tagged with the slot (`[w3] ` before it; a JSON line gets a `"slot":3` field instead); colours
   * are kept when the primary's stdout is a terminal. `'inherit'`: workers write to the primary's
   * stdout and stderr directly, untagged (lines of different workers may then mix).
   * Env `CLUSTER_LOGS`.
   * @default 'tagged'
   */
  logs?: WorkerLogMode;
  /**
   * `'first'`: what a worker prints before it is ready (Nest's boot log) is shown for the first worker
   * only; the other workers' (and replacements') is held and dropped once they are ready, or shown in
   * full if one fails to boot. Lines on stderr and lines with a warn or error level always show.
   * `'all'`: every worker's boot output is shown. Needs `logs: 'tagged'`. Env `CLUSTER_BOOT_LOGS`.
   * @default 'first'
   */
  bootLogs?: BootLogMode;
  /** Bounds of the messages between workers. */
  messaging?: ClusterMessagingOptions;
  /** Graceful shutdown settings. */
  shutdown?: ClusterShutdownOptions;
  /** Restart and crash-loop policy. */
  restart?: ClusterRestartOptions;
  /** Timing of the leadership lease the nodes share on Redis (unused on one node). */
  leadership?: ClusterLeadershipOptions;
  /**
   * Creates the app in a worker; its return type is the type `configure` and `listen` see.
   * @default (module) => NestFactory.create(module)
   * @example createApp: (m) => NestFactory.create<NestFastifyApplication>(m, new FastifyAdapter())
   * @example createApp: (m, { port }) => NestFactory.createMicroservice<MicroserviceOptions>(m, { transport: Transport.TCP, options: { port } })
   */
  createApp?: CreateAppHook<App>;
  /** Configures the app before it listens. */
  configure?: ConfigureAppHook<App>;
  /**
   * Starts accepting work. Not allowed with `sticky` (the primary owns the port there).
   * @default by kind: `app.listen(port, host)`, `app.startAllMicroservices()` then `app.listen(port, host)`, `app.listen()`, `app.init()`
   */
  listen?: ListenAppHook<App>;
  /**
   * Called in the primary, synchronously, with each event of this node as the primary decides it:
   * `fork`, `ready`, `cluster-ready` (every slot ready), `exit`, `restart-scheduled`, `crash-loop`,
   * `shutdown` (the drain begins), `rolling-restart` steps, `leader`, ..., and last `stopped` (the drain
   * is over, with the primary's exit code). For metrics, an audit trail or a supervisor of your own,
   * without parsing logs. Never called in a worker or a standalone process (`ClusterService.events$`
   * is theirs). A hook that throws is logged once and does not stop the primary.
   * @example onPrimaryEvent: (event) => process.stdout.write(`${JSON.stringify(event)}\n`)
   */
  onPrimaryEvent?: PrimaryEventHook;
}

/**
 * How the processes of a node authenticate to NATS and check its certificate. One way to
 * authenticate at most: `user` and `pass`, a `token`, or a `credsFile` (or credentials in `natsUrl`).
 */
export interface ClusterNatsOptions {
  /** User name for user and password authentication, with `pass`. Env `CLUSTER_NATS_USER`. */
  user?: string;
  /** The password of `user`; an error never shows it. Env `CLUSTER_NATS_PASS`. */
  pass?: string;
  /** Token authentication; an error never shows it. Not with `user` or `credsFile`. Env `CLUSTER_NATS_TOKEN`. */
  token?: string;
  /**
   * A `.creds` file (a user JWT and its NKey seed, as `nsc` writes them) for decentralized
   * authentication. Read at each connection, so a rotated file is used at the next one. Not with
   * `user`. Env `CLUSTER_NATS_CREDS`.
   */
  credsFile?: string;
  /** TLS settings; any of them requires TLS, as a `tls://` URL does. */
  tls?: ClusterNatsTlsOptions;
}

/** The files of a TLS connection to NATS, each a path this process can read (PEM). */
export interface ClusterNatsTlsOptions {
  /**
   * The certificate authorities the server's certificate is checked against (a private CA).
   * Env `CLUSTER_NATS_TLS_CA`.
   * @default the system's
   */
  caFile?: string;
  /** This client's certificate, for a server that verifies clients; with `keyFile`. Env `CLUSTER_NATS_TLS_CERT`. */
  certFile?: string;
  /** The private key of `certFile`. Env `CLUSTER_NATS_TLS_KEY`. */
  keyFile?: string;
}

/** `nats` after environment and validation were applied: every field present, `undefined` where unset. */
export interface ResolvedNatsOptions {
  user: string | undefined;
  pass: string | undefined;
  token: string | undefined;
  credsFile: string | undefined;
  tls: { caFile: string | undefined; certFile: string | undefined; keyFile: string | undefined };
}

/**
 * The leadership lease of a cluster of several nodes (Redis). The node holding it appoints the
 * leader; it renews every `renewMs` and lets go on its own `ttlMs - renewMs` after its last successful
 * renewal (at once if it loses Redis), before the lease can expire and be taken elsewhere. When the
 * holder dies, another node leads within about `ttlMs + retryMs`.
 */
export interface ClusterLeadershipOptions {
  /** Life of the lease in Redis. Env `CLUSTER_LEADER_TTL_MS`. @default 9000 */
  ttlMs?: number;
  /** The holder renews this often; at most half of `ttlMs`. Env `CLUSTER_LEADER_RENEW_MS`. @default 3000 */
  renewMs?: number;
  /** Nodes without the lease try to take it this often; at most `renewMs`. Env `CLUSTER_LEADER_RETRY_MS`. @default 1000 */
  retryMs?: number;
}

/** Options after defaults, environment and validation were applied. */
export interface ResolvedClusterOptions {
  /** What was asked for: a count or `'auto'`. */
  workersSetting: number | 'auto';
  /** The number of workers the primary forks. */
  workers: number;
  /** Warm standbys the primary keeps booted besides the workers. */
  standby: number;
  enabled: boolean;
  nodeId: string;
  redisUrl: string | undefined;
  natsUrl: string | undefined;
  nats: ResolvedNatsOptions;
  name: string;
  control: string | undefined;
  port: number;
  host: string | undefined;
  sticky: StickyMode | false;
  distribution: ConnectionDistribution;
  perWorkerJobs: boolean;
  readyTimeoutMs: number;
  serialization: Serialization;
  unresponsiveMs: number;
  logs: WorkerLogMode;
  bootLogs: BootLogMode;
  messaging: Required<ClusterMessagingOptions>;
  shutdown: Required<ClusterShutdownOptions>;
  restart: Required<ClusterRestartOptions>;
  leadership: Required<ClusterLeadershipOptions>;
  createApp?: CreateAppHook<ClusteredApp>;
  configure?: ConfigureAppHook<ClusteredApp>;
  listen?: ListenAppHook<ClusteredApp>;
  onPrimaryEvent?: PrimaryEventHook;
}
