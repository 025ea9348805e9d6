import { processTransport } from '../transports/process-transport.js';
import { isLeaderOf } from './leader.interface.js';

/**
 * Runs the method only on the cluster's leader; on every other worker the call is skipped and returns
 * `undefined` (for an `async` method, a caller's `await` gets `undefined`). It asks this process's
 * transport, the one `bootstrapClustered` set up; a standalone process is its own leader.
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
    const onLeader = function (this: unknown, ...args: unknown[]): unknown {
      const transport = processTransport();
      return isLeaderOf(transport.leader(), transport.self) ? (method as (...a: unknown[]) => unknown).apply(this, args) : undefined;
    };
    // Metadata other decorators set before this one lives on the function it replaces.
    for (const key of Reflect.getOwnMetadataKeys(method)) Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, method), onLeader);
    Object.defineProperty(onLeader, 'name', { value: method.name });
    return { ...descriptor, value: onLeader as never };
  };
}
