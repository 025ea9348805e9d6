import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import type { Subscription } from 'rxjs';
import { ClusterTransport } from '../transports/cluster-transport.interface.js';
import { CLUSTER_REQUEST_HANDLER, ON_CLUSTER_MESSAGE } from './cluster-message.decorators.js';
import type { MessageBus } from './message-bus.js';
import { acquireBus, releaseBus } from './shared-bus.js';

/**
 * Finds `@OnClusterMessage` and `@ClusterRequestHandler` methods on providers and controllers (as
 * `@nestjs/schedule` finds `@Cron`) and wires them to the process's message bus before the app
 * listens, so a worker is a handler by the time it is ready. `ClusterModule` imported several times
 * makes several explorers: each method is wired once, by the first.
 */
@Injectable()
export class ClusterHandlersExplorer implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ClusterHandlers');
  private readonly subscriptions: Subscription[] = [];
  private readonly unregister: Array<() => void> = [];
  private readonly bus: MessageBus;
  private closed = false;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    @Inject(ClusterTransport) private readonly transport: ClusterTransport,
  ) {
    this.bus = acquireBus(transport);
  }

  onModuleInit(): void {
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      if (!wrapper.isDependencyTreeStatic()) {
        this.warnIfDecorated(wrapper);
        continue;
      }
      const { instance } = wrapper;
      if (!instance || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        this.bind(instance as Record<string, unknown>, name, wrapper.name);
      }
    }
  }

  onApplicationShutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    for (const off of this.unregister) off();
    releaseBus(this.transport);
  }

  private bind(instance: Record<string, unknown>, name: string, owner: string): void {
    const method = instance[name] as ((...args: unknown[]) => unknown) | undefined;
    if (typeof method !== 'function') return;
    const subscribed: string[] = Reflect.getMetadata(ON_CLUSTER_MESSAGE, method) ?? [];
    const handled: string[] = Reflect.getMetadata(CLUSTER_REQUEST_HANDLER, method) ?? [];
    if (subscribed.length + handled.length === 0 || !this.bus.claim(instance, name)) return;
    for (const topic of subscribed) {
      this.subscriptions.push(
        this.bus.on(topic).subscribe((message) => {
          // One failing listener must not end the stream for the messages after it.
          Promise.resolve()
            .then(() => method.call(instance, message.data, message))
            .catch((error: Error) => this.logger.error(`${owner}.${name} failed on "${topic}": ${error?.stack ?? error}`));
        }),
      );
    }
    for (const topic of handled) {
      this.unregister.push(this.bus.handle(topic, (data, from) => method.call(instance, data, from)));
    }
  }

  /**
   * A request-scoped provider (or one that depends on one) has no instance outside a request, so its
   * decorated methods cannot be wired: say so, naming the class, rather than stay silent.
   */
  private warnIfDecorated(wrapper: InstanceWrapper): void {
    const prototype = (wrapper.metatype as { prototype?: object } | null | undefined)?.prototype;
    if (!prototype || typeof prototype !== 'object') return;
    const decorated = this.scanner.getAllMethodNames(prototype).filter((name) => {
      const method = (prototype as Record<string, unknown>)[name];
      return (
        typeof method === 'function' && (Reflect.hasMetadata(ON_CLUSTER_MESSAGE, method) || Reflect.hasMetadata(CLUSTER_REQUEST_HANDLER, method))
      );
    });
    if (decorated.length === 0) return;
    const methods = decorated.map((name) => `${wrapper.name}.${name}`).join(', ');
    this.logger.warn(
      `${methods} will never run: ${wrapper.name} is request-scoped (or depends on a request-scoped provider), so it has no instance to call outside a request. Make it a singleton, or move the handler to a singleton provider.`,
    );
  }
}
