import { DiscoveryModule } from '@nestjs/core';
import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigurableModuleClass, CLUSTER_MODULE_OPTIONS, OPTIONS_TYPE } from './cluster.module-definition.js';
import { ClusterService } from './cluster.service.js';
import { ClusterHandlersExplorer } from './messaging/cluster-handlers.explorer.js';
import type { ClusterModuleOptions } from './interfaces/cluster-module-options.interface.js';
import { LeaderOnlyExplorer } from './leadership/leader-only.explorer.js';
import { ClusterTransport } from './transports/cluster-transport.interface.js';
import { PROCESS_TRANSPORT, standaloneTransport } from './transports/process-transport.module.js';

/**
 * Gives the application `ClusterService` (this worker's identity, every worker's lifecycle, the
 * cluster's membership, messages between workers) and wires `@OnClusterMessage` /
 * `@ClusterRequestHandler` and `@LeaderOnly()` methods. The transport is the `transport` option, else the
 * one `bootstrapClustered` provides to the app, else (an app built some other way: tests, scripts) a
 * standalone `LocalTransport` for the process.
 *
 * @example
 * ```ts
 * @Module({ imports: [ClusterModule.forRoot({ isGlobal: true })] })
 * export class AppModule {}
 * ```
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: ClusterTransport,
      useFactory: (options: ClusterModuleOptions, processTransport?: ClusterTransport) =>
        options.transport ?? processTransport ?? standaloneTransport(),
      inject: [CLUSTER_MODULE_OPTIONS, { token: PROCESS_TRANSPORT, optional: true }],
    },
    ClusterService,
    // Before the handlers explorer: a handler that is also @LeaderOnly() is wired wrapped.
    LeaderOnlyExplorer,
    ClusterHandlersExplorer,
  ],
  exports: [ClusterService, ClusterTransport],
})
export class ClusterModule extends ConfigurableModuleClass {
  /** Every option is optional, so `forRoot()` works without an argument. */
  static override forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
