import { registerAs } from '@nestjs/config';
import { runningOptions } from '../cluster-options.js';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';

/** The cluster's settings as `ConfigService` shows them (hooks left out: they are code, not config). */
export type ClusterConfig = Omit<ResolvedClusterOptions, 'createApp' | 'configure' | 'listen' | 'onPrimaryEvent'>;

/**
 * The settings the cluster runs with, under the `cluster` namespace of `@nestjs/config`: in a process
 * started by `bootstrapClustered` (the primary, a worker, or standalone), what it resolved from its
 * explicit options over the environment over the defaults; elsewhere (an app built without it, a
 * script), the environment over the defaults, validated the same way.
 *
 * @example
 * ```ts
 * ConfigModule.forRoot({ load: [clusterConfig] });
 * config.get<number>('cluster.shutdown.timeoutMs');
 * // or: @Inject(clusterConfig.KEY) cfg: ConfigType<typeof clusterConfig>
 * ```
 */
export const clusterConfig = registerAs('cluster', (): ClusterConfig => {
  const { createApp: _c, configure: _f, listen: _l, onPrimaryEvent: _e, ...settings } = runningOptions();
  return settings;
});
