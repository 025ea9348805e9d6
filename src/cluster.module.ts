import { DiscoveryModule } from '@nestjs/core';
import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigurableModuleClass, CLUSTER_MODULE_OPTIONS, OPTIONS_TYPE } from './cluster.module-definition.js';
import { ClusterService } from './cluster.service.js';
import { ClusterHandlersExplorer } from './messaging/cluster-handlers.explorer.js';
import type { ClusterModuleOptions } from './interfaces/cluster-module-options.interface.js';
import { ClusterTransport } from './transports/cluster-transport.interface.js';
import { processTransport } from './transports/process-transport.js';

/**
 * Gives the application `ClusterService` (this worker's identity, every worker's lifecycle, the
 * cluster's membership, messages between workers) and wires `@OnClusterMessage` /
 * `@ClusterRequestHandler` methods.
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
      useFactory: (options: ClusterModuleOptions) => options.transport ?? processTransport(),
      inject: [CLUSTER_MODULE_OPTIONS],
    },
    ClusterService,
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
