/** Metadata key of `@LeaderOnly()`, read by `LeaderOnlyExplorer`. */
export const LEADER_ONLY = 'nestjs-cluster:leader-only';

/**
 * Runs the method only on the cluster's leader; on every other worker the call is skipped and returns
 * `undefined` (for an `async` method, a caller's `await` gets `undefined`). `ClusterModule` applies it
 * to its app's singleton providers and controllers as soon as the app is created, and asks the app's
 * transport at each call; a standalone process is its own leader.
 *
 * Whatever other decorators put on the method (`@Cron`, `@OnEvent`, `@OnClusterMessage`...) stays
 * on it, in either order.
 *
 * @example
 * ```ts
 * @LeaderOnly()
 * async sendDailyReport() { ... } // called on every worker, runs on one
 * ```
 */
export function LeaderOnly(): MethodDecorator {
  return (_target, property, descriptor) => {
    const method = descriptor.value as unknown;
    if (typeof method !== 'function') throw new TypeError(`@LeaderOnly() goes on a method; ${String(property)} is not one`);
    Reflect.defineMetadata(LEADER_ONLY, true, method);
    return descriptor;
  };
}
