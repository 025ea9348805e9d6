import { Module, type DynamicModule } from '@nestjs/common';
import { ASYNC_OPTIONS_TYPE, ConfigurableModuleClass, OPTIONS_TYPE } from './cluster-metrics.module-definition.js';
import { ClusterMetricsService } from './cluster-metrics.service.js';

/**
 * Serves Prometheus metrics of the whole node at `/metrics`, from whichever worker the scrape reaches.
 * Needs `ClusterService` in scope (`ClusterModule.forRoot({ isGlobal: true })`).
 *
 * @example
 * ```ts
 * @Module({ imports: [ClusterModule.forRoot({ isGlobal: true }), ClusterMetricsModule.forRoot()] })
 * export class AppModule {}
 *
 * ClusterMetricsModule.forRoot({ mode: 'aggregate', timeoutMs: 500, path: '/internal/metrics' });
 * ```
 */
@Module({
  providers: [ClusterMetricsService],
  exports: [ClusterMetricsService],
})
export class ClusterMetricsModule extends ConfigurableModuleClass {
  /** Every option is optional, so `forRoot()` works without an argument. */
  static override forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  /** Options from a factory (`ConfigService`, say); `path` and `isGlobal` are given here, as they shape the module. */
  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }
}
