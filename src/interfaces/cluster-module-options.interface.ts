import type { ClusterTransport } from '../transports/cluster-transport.interface.js';

/** Options of `ClusterModule.forRoot` / `forRootAsync`. */
export interface ClusterModuleOptions {
  /**
   * The transport behind `ClusterService`. Leave it unset to use the one `bootstrapClustered` set up
   * for this process (IPC through the primary in a worker, in-process when standalone).
   * @default the process's transport
   */
  transport?: ClusterTransport;
  /**
   * Default `timeoutMs` of `request` and `requestAll`.
   * @default 5000
   */
  requestTimeoutMs?: number;
}

/** A class that builds `ClusterModuleOptions`, for `forRootAsync({ useClass })`. */
export interface ClusterOptionsFactory {
  createClusterOptions(): ClusterModuleOptions | Promise<ClusterModuleOptions>;
}
