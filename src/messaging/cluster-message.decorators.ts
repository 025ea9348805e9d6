/** Metadata keys read by `ClusterHandlersExplorer`. */
export const ON_CLUSTER_MESSAGE = 'nestjs-cluster:on-message';
export const CLUSTER_REQUEST_HANDLER = 'nestjs-cluster:request-handler';

function addTopic(key: string, topic: string): MethodDecorator {
  return (_target, _property, descriptor) => {
    const method = descriptor.value as object;
    const topics: string[] = Reflect.getMetadata(key, method) ?? [];
    Reflect.defineMetadata(key, [...topics, topic], method);
    return descriptor;
  };
}

/**
 * Calls the method with `(data, message)` for every message on `topic` that reaches this worker
 * (`publish` from other workers, `send` to this slot). Stackable for several topics.
 *
 * @example
 * ```ts
 * @OnClusterMessage('cache.invalidate')
 * invalidate(data: { key: string }) { this.cache.delete(data.key); }
 * ```
 */
export function OnClusterMessage(topic: string): MethodDecorator {
  return addTopic(ON_CLUSTER_MESSAGE, topic);
}

/**
 * Makes the method this worker's handler of requests on `topic`: called with `(data, from)`, it
 * returns the reply (a value, a Promise, or an Observable's first value); a throw reaches the caller
 * as a `RemoteHandlerError`.
 *
 * @example
 * ```ts
 * @ClusterRequestHandler('sessions.count')
 * count() { return this.sessions.size; }
 * ```
 */
export function ClusterRequestHandler(topic: string): MethodDecorator {
  return addTopic(CLUSTER_REQUEST_HANDLER, topic);
}
