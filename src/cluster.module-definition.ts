import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { ClusterModuleOptions } from './interfaces/cluster-module-options.interface.js';

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: CLUSTER_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ClusterModuleOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createClusterOptions')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
