import { registerAs } from '@nestjs/config';
import { resolveClusterOptions } from '../cluster-options.js';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';

/** The cluster's settings as `ConfigService` shows them (hooks left out: they are code, not config). */
export type ClusterConfig = Omit<ResolvedClusterOptions, 'createApp' | 'configure' | 'listen'>;

/**
 * The cluster settings from the environment, under the `cluster` namespace of `@nestjs/config`,
 * validated the same way `bootstrapClustered` validates them.
 *
 * @example
 * ```ts
 * ConfigModule.forRoot({ load: [clusterConfig] });
 * config.get<number>('cluster.shutdown.timeoutMs');
 * // or: @Inject(clusterConfig.KEY) cfg: ConfigType<typeof clusterConfig>
 * ```
 */
export const clusterConfig = registerAs('cluster', (): ClusterConfig => {
  const { createApp: _c, configure: _f, listen: _l, ...settings } = resolveClusterOptions({}, process.env);
  return settings;
});
