import type { ClusterTransport } from '../transports/cluster-transport.interface.js';

/** Options of `ClusterModule.forRoot` / `forRootAsync`. */
export interface ClusterModuleOptions {
  /**
   * The transport behind `ClusterService`. Leave it unset to use the one `bootstrapClustered` provides
   * to the app (IPC through the primary in a worker, in-process when standalone), or, in an app built
   * some other way (tests, scripts), a standalone `LocalTransport` shared by the process.
   * @default the transport `bootstrapClustered` provides, else a standalone one
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
