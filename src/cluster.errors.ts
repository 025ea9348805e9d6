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
    super(
      `Invalid ${setting}: ${formatValue(value)} is not allowed; expected ${allowed}.`,
      ClusterConfigError.code,
    );
  }
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
