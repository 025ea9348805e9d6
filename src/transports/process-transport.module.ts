import { Module, type DynamicModule } from '@nestjs/common';
import type { IEntryNestModule } from '@nestjs/core';
import type { ClusterTransport } from './cluster-transport.interface.js';
import { LocalTransport } from './local.transport.js';

/**
 * Injection token of this process's transport, provided to the whole app by the module that
 * `bootstrapClustered` wraps around the user's module (see `withProcessTransport`). Absent when the
 * app was built some other way (plain tests, scripts).
 */
export const PROCESS_TRANSPORT = Symbol('nestjs-cluster:process-transport');

/** Global, so that `ClusterModule` and `ClusterScheduleModule` find the transport wherever they are imported. */
@Module({})
export class ProcessTransportModule {
  static of(transport: ClusterTransport): DynamicModule {
    return {
      module: ProcessTransportModule,
      global: true,
      providers: [{ provide: PROCESS_TRANSPORT, useValue: transport }],
      exports: [PROCESS_TRANSPORT],
    };
  }
}

/** The root of a clustered app: the user's module as it is, beside the module that provides the transport. */
@Module({})
export class ClusteredAppModule {}

/**
 * What a runtime hands to `createApp`: a root module importing `module` and the transport's module.
 * The user's module stays a module of the app, so `app.get(AppModule)` and `app.select(AppModule)`
 * work as before.
 */
export function withProcessTransport(module: IEntryNestModule, transport: ClusterTransport): DynamicModule {
  return { module: ClusteredAppModule, imports: [ProcessTransportModule.of(transport), module as DynamicModule] };
}

let standalone: LocalTransport | undefined;

/**
 * The transport of an app built outside `bootstrapClustered` (plain tests, scripts): a standalone
 * `LocalTransport`, one for the process, so that every such app of the process sees the same cluster
 * of one.
 */
export function standaloneTransport(): LocalTransport {
  return (standalone ??= new LocalTransport());
}
