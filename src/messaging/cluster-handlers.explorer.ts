import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { Subscription } from 'rxjs';
import { ClusterService } from '../cluster.service.js';
import { CLUSTER_REQUEST_HANDLER, ON_CLUSTER_MESSAGE } from './cluster-message.decorators.js';

/**
 * Finds `@OnClusterMessage` and `@ClusterRequestHandler` methods on providers and controllers (as
 * `@nestjs/schedule` finds `@Cron`) and wires them to `ClusterService` before the app listens, so a
 * worker is a handler by the time it is ready.
 */
@Injectable()
export class ClusterHandlersExplorer implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ClusterHandlers');
  private readonly subscriptions: Subscription[] = [];
  private readonly unregister: Array<() => void> = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly cluster: ClusterService,
  ) {}

  onModuleInit(): void {
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const { instance } = wrapper;
      // Request-scoped providers have no instance to call outside a request.
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        this.bind(instance as Record<string, unknown>, name, wrapper.name);
      }
    }
  }

  onApplicationShutdown(): void {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    for (const off of this.unregister) off();
  }

  private bind(instance: Record<string, unknown>, name: string, owner: string): void {
    const method = instance[name] as ((...args: unknown[]) => unknown) | undefined;
    if (typeof method !== 'function') return;
    const subscribed: string[] = Reflect.getMetadata(ON_CLUSTER_MESSAGE, method) ?? [];
    for (const topic of subscribed) {
      this.subscriptions.push(
        this.cluster.on(topic).subscribe((message) => {
          // One failing listener must not end the stream for the messages after it.
          Promise.resolve()
            .then(() => method.call(instance, message.data, message))
            .catch((error: Error) => this.logger.error(`${owner}.${name} failed on "${topic}": ${error?.stack ?? error}`));
        }),
      );
    }
    const handled: string[] = Reflect.getMetadata(CLUSTER_REQUEST_HANDLER, method) ?? [];
    for (const topic of handled) {
      this.unregister.push(this.cluster.handle(topic, (data, from) => method.call(instance, data, from)));
    }
  }
}
