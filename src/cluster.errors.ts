/**
 * Every error the library throws is a `ClusterError` with a stable `code`, so callers can branch on
 * `err.code` instead of parsing messages.
 */
export class ClusterError extends Error {
  constructor(
    message: string,
    /** Stable, documented code, e.g. `CLUSTER_ERR_INVALID_OPTION`. */
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * A bootstrap option or environment variable has a value that is not allowed. Thrown before any
 * worker is forked; `bootstrapClustered` turns it into one log line and exit code 78.
 */
export class ClusterConfigError extends ClusterError {
  static readonly code = 'CLUSTER_ERR_INVALID_OPTION';

  constructor(
    /** Where the value came from: an env variable (`CLUSTER_WORKERS`) or an option (`options.workers`). */
    readonly setting: string,
    /** The value as it was given. */
    readonly value: unknown,
    /** What would have been accepted. */
    readonly allowed: string,
  ) {
    super(`Invalid ${setting}: ${formatValue(value)} is not allowed; expected ${allowed}.`, ClusterConfigError.code);
  }
}

/** A value an error must not show (a password, a token): it says what kind of value it was instead. */
export class HiddenValue {
  constructor(
    /** What the value was, e.g. `a string of 3 character(s)`. */
    readonly description: string,
  ) {}

  toString(): string {
    return `${this.description} (hidden)`;
  }

  toJSON(): string {
    return this.toString();
  }
}

function formatValue(value: unknown): string {
  if (value instanceof HiddenValue) return value.toString();
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * The data of a message cannot be serialized with the cluster's serialization, or `'json'` would silently
 * change it (a function, a Map, NaN...); nothing was sent.
 */
export class SerializationError extends ClusterError {
  static readonly code = 'CLUSTER_ERR_SERIALIZATION';

  constructor(
    readonly topic: string,
    readonly serialization: string,
    /** What was found and why it cannot be sent, e.g. `a Map, which JSON turns into {}`. */
    readonly reason: string,
    /** Where in the data, e.g. `data.items[3].tags` (`data` is the whole of it), when it is known. */
    readonly path?: string,
  ) {
    super(
      path === undefined
        ? `Cannot send "${topic}": its data is not serializable with '${serialization}' serialization (${reason}); nothing was sent.`
        : `Cannot send "${topic}" with '${serialization}' serialization: ${path} is ${reason}; nothing was sent.`,
      SerializationError.code,
    );
  }
}

/** The addressed slot has no live worker (never existed, exited, or exited while the request was in flight). */
export class WorkerUnavailableError extends ClusterError {
  static readonly code = 'CLUSTER_ERR_WORKER_UNAVAILABLE';

  constructor(
    readonly topic: string,
    readonly slot: number | undefined,
    readonly reason: string,
    /** The addressed node, when it is not this one. */
    readonly node?: string,
  ) {
    super(`"${topic}" to ${target(slot, node)}: ${reason}.`, WorkerUnavailableError.code);
  }
}

/** No worker (or not the addressed one) handles the request's topic. */
export class NoHandlerError extends ClusterError {
  static readonly code = 'CLUSTER_ERR_NO_HANDLER';

  constructor(
    readonly topic: string,
    readonly slot?: number,
    /** The addressed node, when it is not this one. */
    readonly node?: string,
  ) {
    super(
      slot === undefined
        ? `No worker handles "${topic}": register one with handle('${topic}', fn) or @ClusterRequestHandler('${topic}').`
        : `${capitalize(target(slot, node))} does not handle "${topic}".`,
      NoHandlerError.code,
    );
  }
}

/** The remote handler threw or rejected; carries its message, code and name. */
export class RemoteHandlerError extends ClusterError {
  static readonly code = 'CLUSTER_ERR_REMOTE_HANDLER';

  constructor(
    readonly topic: string,
    readonly slot: number,
    /** The remote error's `message`. */
    readonly remoteMessage: string,
    /** The remote error's `code`, if it had one. */
    readonly remoteCode?: string | number,
    /** The remote error's class name. */
    readonly remoteName?: string,
    /** The node of the failed handler, when it is not this one. */
    readonly node?: string,
  ) {
    super(`Handler of "${topic}" on ${target(slot, node)} failed: ${remoteMessage}`, RemoteHandlerError.code);
  }
}

/** No reply within `timeoutMs`; a reply that still arrives later is dropped. */
export class RequestTimeoutError extends ClusterError {
  static readonly code = 'CLUSTER_ERR_REQUEST_TIMEOUT';

  constructor(
    readonly topic: string,
    readonly slot: number | undefined,
    readonly timeoutMs: number,
    /** The addressed node, when it is not this one. */
    readonly node?: string,
  ) {
    super(`"${topic}" to ${target(slot, node)} got no reply within ${timeoutMs} ms.`, RequestTimeoutError.code);
  }
}

/** A topic may have one request handler per process. */
export class DuplicateHandlerError extends ClusterError {
  static readonly code = 'CLUSTER_ERR_DUPLICATE_HANDLER';

  constructor(readonly topic: string) {
    super(`"${topic}" already has a request handler in this process.`, DuplicateHandlerError.code);
  }
}

/** An argument of a messaging call is not allowed (bad slot, topic or timeout). */
export class ClusterArgumentError extends ClusterError {
  static readonly code = 'CLUSTER_ERR_INVALID_ARGUMENT';

  constructor(
    readonly argument: string,
    readonly value: unknown,
    readonly allowed: string,
  ) {
    super(`Invalid ${argument}: ${formatValue(value)} is not allowed; expected ${allowed}.`, ClusterArgumentError.code);
  }
}

/** A message's serialized data is over the cluster's `messaging.maxMessageBytes`; nothing was sent. */
export class MessageTooLargeError extends ClusterError {
  static readonly code = 'CLUSTER_ERR_MESSAGE_TOO_LARGE';

  constructor(
    readonly topic: string,
    /** Serialized size of the data, in bytes. */
    readonly bytes: number,
    /** The limit (`messaging.maxMessageBytes`, env `CLUSTER_MAX_MESSAGE_BYTES`). */
    readonly limit: number,
  ) {
    super(
      `Cannot send "${topic}": its data is ${bytes} bytes once serialized, over the limit of ${limit} bytes (messaging.maxMessageBytes, CLUSTER_MAX_MESSAGE_BYTES); nothing was sent.`,
      MessageTooLargeError.code,
    );
  }
}

/** This worker already waits for `messaging.maxPendingRequests` replies; the request was not sent. */
export class RequestLimitError extends ClusterError {
  static readonly code = 'CLUSTER_ERR_REQUEST_LIMIT';

  constructor(
    readonly topic: string,
    /** The limit (`messaging.maxPendingRequests`, env `CLUSTER_MAX_PENDING_REQUESTS`). */
    readonly limit: number,
  ) {
    super(
      `Cannot request "${topic}": ${limit} requests of this worker already wait for a reply (messaging.maxPendingRequests, CLUSTER_MAX_PENDING_REQUESTS).`,
      RequestLimitError.code,
    );
  }
}

/**
 * The receiving worker's message queue is full (it reads slower than it is sent to, or it hangs):
 * the primary dropped the request or its reply instead of letting the queue grow without bound.
 */
export class QueueFullError extends ClusterError {
  static readonly code = 'CLUSTER_ERR_QUEUE_FULL';

  constructor(
    readonly topic: string,
    /** The slot whose queue was full. */
    readonly slot: number | undefined,
    /** Its node, when it is not this one. */
    readonly node?: string,
  ) {
    super(
      `"${topic}" was dropped: the message queue of ${slot === undefined ? 'its worker' : target(slot, node)} is full (messaging.maxQueueBytes, CLUSTER_MAX_QUEUE_BYTES).`,
      QueueFullError.code,
    );
  }
}

/**
 * The link to the other nodes (Redis) is down: a message for another node was not sent. Same-node
 * messages are not affected; nothing is queued for later, so nothing arrives twice once it is back.
 */
export class TransportUnavailableError extends ClusterError {
  static readonly code = 'CLUSTER_ERR_TRANSPORT_DOWN';

  constructor(
    readonly topic: string,
    /** The node the message was for. */
    readonly node: string | undefined,
    readonly reason: string,
  ) {
    super(`"${topic}" to ${node === undefined ? 'another node' : `node ${node}`} was not sent: ${reason}.`, TransportUnavailableError.code);
  }
}

/**
 * The worker count could not be changed (`ClusterService.scale`): the node is shutting down, or
 * there is no primary to change it (clustering is off).
 */
export class ScaleUnavailableError extends ClusterError {
  static readonly code = 'CLUSTER_ERR_SCALE_UNAVAILABLE';

  constructor(
    /** The count or change asked for. */
    readonly workers: unknown,
    /** Why it cannot be done now, e.g. `the cluster is shutting down`. */
    readonly reason: string,
  ) {
    super(`Cannot change the worker count (${formatValue(workers)}): ${reason}.`, ScaleUnavailableError.code);
  }
}

/** The worker a message went to, in words: a slot of this node, of another node, or whoever handles it. */
function target(slot: number | undefined, node: string | undefined): string {
  if (slot === undefined) return node === undefined ? 'its handler' : `a handler on node ${node}`;
  return node === undefined ? `slot ${slot}` : `slot ${slot} of node ${node}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
