/** Marks every envelope the library puts on the wire; messages without it belong to the application. */
export const CLUSTER_NAMESPACE = 'nestjs-cluster';
/** Version of the envelope format (2: identities and addresses carry the node). */
export const ENVELOPE_VERSION = 2;

/** Environment variable that tells a worker its stable slot (0..N-1). */
export const WORKER_SLOT_ENV = 'CLUSTER_WORKER_SLOT';

/**
 * Environment variable the primary sets when it relays a worker's output (`logs: 'tagged'`): the
 * worker then marks on its stdout the moment it is ready (`WORKER_READY_MARK`).
 */
export const WORKER_LOGS_ENV = 'CLUSTER_WORKER_LOGS';

/**
 * What a worker whose output is relayed writes on its stdout, alone on a line, just before it tells
 * the primary it is ready: the lines before it are its boot output. The primary takes it out. An
 * operating-system command sequence of a terminal, so that, were it ever shown, it would show nothing.
 */
export const WORKER_READY_MARK = '\u001b]nestjs-cluster;ready\u0007';

/**
 * Exit codes of the primary (sysexits.h where one fits), and of a worker or standalone process
 * where a name says so.
 */
export const EXIT_CODES = {
  /** Every worker stopped on its own. */
  clean: 0,
  /**
   * At least one worker did not drain cleanly: killed after the shutdown timeout or by a second
   * signal, cut in-flight requests at its drain deadline, or its shutdown hooks failed.
   */
  workersKilled: 1,
  /** Too many unexpected worker exits in the restart window (EX_SOFTWARE). */
  crashLoop: 70,
  /**
   * The primary itself hit an error it could not handle (EX_SOFTWARE, like a crash loop): it logged
   * it and drained the cluster.
   */
  primaryError: 70,
  /** An option or environment variable is invalid (EX_CONFIG). */
  badConfig: 78,
  /** A worker or standalone process: the application failed to start (the error is logged). */
  startFailed: 1,
  /**
   * A worker: it did not drain cleanly (it cut in-flight work at its drain deadline, or its shutdown
   * hooks failed). Its primary then ends with `workersKilled`.
   */
  drainFailed: 1,
} as const;

/**
 * One Ctrl-C often arrives twice within milliseconds: from the terminal to the process group, and
 * forwarded by a wrapper such as `npm start` or `timeout`. Only a repeat after this long forces.
 */
export const DUPLICATE_SIGNAL_MS = 250;

/** setTimeout's ceiling: longer delays fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Longest topic, in characters: topics are names, not payloads. */
export const MAX_TOPIC_LENGTH = 1_024;

/**
 * A worker proves to the primary that its event loop runs at this interval, whatever else it does
 * (a timer, off the request path). `unresponsiveMs` is measured against it.
 */
export const HEARTBEAT_INTERVAL_MS = 1_000;

/** `request` / `requestAll` wait this long unless told otherwise (`requestTimeoutMs`, or the call's `timeoutMs`). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
