import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { ClusterMetricsModuleOptions } from './cluster-metrics-options.interface.js';
import { CLUSTER_METRICS_MODULE_OPTIONS } from './cluster-metrics.constants.js';
import { metricsController } from './cluster-metrics.controller.js';
import { resolveMetricsPath } from './cluster-metrics-options.js';

/** Options that shape the module itself, so they cannot come from an async factory. */
export interface ClusterMetricsModuleExtras {
  /**
   * Where the controller serves the node's metrics, or `false` for no controller (serve
   * `ClusterMetricsService.scrape()` from your own, e.g. `@willsoto/nestjs-prometheus`'s).
   * @default '/metrics'
   */
  path?: string | false;
  /**
   * Makes `ClusterMetricsService` injectable everywhere (needed to use it in another module's controller).
   * @default false
   */
  isGlobal?: boolean;
}

export { CLUSTER_METRICS_MODULE_OPTIONS };

export const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } = new ConfigurableModuleBuilder<ClusterMetricsModuleOptions>({
  optionsInjectionToken: CLUSTER_METRICS_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createClusterMetricsOptions')
  .setExtras<ClusterMetricsModuleExtras>({ path: undefined, isGlobal: false }, (definition, extras) => {
    const path = resolveMetricsPath(extras.path);
    return { ...definition, global: extras.isGlobal, controllers: path === false ? [] : [metricsController(path)] };
  })
  .build();
