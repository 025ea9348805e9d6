import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { ClusterTransport } from '../transports/cluster-transport.interface.js';
import { LEADER_ONLY } from './leader-only.decorator.js';
import { isLeaderOf } from './leader.interface.js';

type Method = (...args: unknown[]) => unknown;

/** Marks the wrappers this explorer puts on instances, so that a method is wrapped once. */
const GUARDED = Symbol('nestjs-cluster:leader-only-guard');

/**
 * Finds the `@LeaderOnly()` methods of the app's singleton providers and controllers (as
 * `@nestjs/schedule` finds `@Cron`) and replaces each, on its instance, with a guard that calls it
 * only while this process leads. It runs at module init, and earlier when `bootstrapClustered`
 * creates the app (`explore()`, before Nest registers routes, gateways and message handlers, which
 * keep a reference to the method). `ClusterModule` imported several times makes several explorers:
 * each method is guarded once, by the first.
 */
@Injectable()
export class LeaderOnlyExplorer implements OnModuleInit {
  private readonly logger = new Logger('ClusterLeaderOnly');
  private explored = false;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    @Inject(ClusterTransport) private readonly transport: ClusterTransport,
  ) {}

  onModuleInit(): void {
    this.explore();
  }

  /** Idempotent: guards every `@LeaderOnly()` method of the app's instances. */
  explore(): void {
    if (this.explored) return;
    this.explored = true;
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      if (!wrapper.isDependencyTreeStatic()) {
        this.warnIfMarked(wrapper);
        continue;
      }
      const { instance } = wrapper;
      if (!instance || typeof instance !== 'object') continue;
      for (const name of this.scanner.getAllMethodNames(Object.getPrototypeOf(instance) as object)) {
        this.guard(instance as Record<string, unknown>, name);
      }
    }
  }

  private guard(instance: Record<string, unknown>, name: string): void {
    const method = instance[name];
    if (typeof method !== 'function' || GUARDED in method || !Reflect.getMetadata(LEADER_ONLY, method)) return;
    const transport = this.transport;
    const onLeader = function (this: unknown, ...args: unknown[]): unknown {
      return isLeaderOf(transport.leader(), transport.self) ? (method as Method).apply(this, args) : undefined;
    };
    // What other decorators put on the method (@OnClusterMessage, @Cron...) must be found on the guard.
    for (const key of Reflect.getOwnMetadataKeys(method)) Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, method), onLeader);
    Object.defineProperty(onLeader, 'name', { value: method.name });
    Object.defineProperty(onLeader, GUARDED, { value: true });
    Object.defineProperty(instance, name, { value: onLeader, writable: true, configurable: true, enumerable: false });
  }

  /**
   * A request-scoped provider (or one that depends on one) has a new instance for every request,
   * none of which this explorer sees: say so, naming the class, rather than let it run on every worker.
   */
  private warnIfMarked(wrapper: InstanceWrapper): void {
    const prototype = (wrapper.metatype as { prototype?: object } | null | undefined)?.prototype;
    if (!prototype || typeof prototype !== 'object') return;
    const marked = this.scanner.getAllMethodNames(prototype).filter((name) => {
      const method = (prototype as Record<string, unknown>)[name];
      return typeof method === 'function' && Reflect.hasMetadata(LEADER_ONLY, method);
    });
    if (marked.length === 0) return;
    const methods = marked.map((name) => `${wrapper.name}.${name}`).join(', ');
    this.logger.warn(
      `@LeaderOnly() on ${methods} is not applied: ${wrapper.name} is request-scoped (or depends on a request-scoped provider), so its instances are made per request. Guard the work with ClusterService.isLeader(), or move it to a singleton provider.`,
    );
  }
}
