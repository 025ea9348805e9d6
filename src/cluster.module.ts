import { Module } from '@nestjs/common';
import { ConfigurableModuleClass, CLUSTER_MODULE_OPTIONS } from './cluster.module-definition.js';
import { ClusterService } from './cluster.service.js';
import type { ClusterModuleOptions } from './interfaces/cluster-module-options.interface.js';
import { ClusterTransport } from './transports/cluster-transport.interface.js';
import { processTransport } from './transports/process-transport.js';

/**
 * Gives the application `ClusterService`: this worker's identity, every worker's lifecycle and the
 * cluster's membership.
 *
 * @example
 * ```ts
 * @Module({ imports: [ClusterModule.forRoot({ isGlobal: true })] })
 * export class AppModule {}
 * ```
 */
@Module({
  providers: [
    {
      provide: ClusterTransport,
      useFactory: (options: ClusterModuleOptions) => options.transport ?? processTransport(),
      inject: [CLUSTER_MODULE_OPTIONS],
    },
    ClusterService,
  ],
  exports: [ClusterService, ClusterTransport],
})
export class ClusterModule extends ConfigurableModuleClass {}
