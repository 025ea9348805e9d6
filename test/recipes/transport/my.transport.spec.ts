// my.transport.spec.ts: jest or vitest with globals (or pass { describe, it })
import { transportConformance } from 'nestjs-cluster/testing';

transportConformance('MyTransport', {
  maxMembers: 3,
  create: async (members) => {
    const cluster = await startMyCluster(members); // one ClusterTransport per member, all ready
    return { members: cluster.transports, remove: (i) => cluster.kill(i), close: () => cluster.stop() };
  },
});

// docs/transports.md's conformance recipe is a test file of the reader's own transport: it is compiled, not
// run. `startMyCluster` is the reader's; declared here with the shape the recipe relies on.
declare function startMyCluster(members: number): Promise<{
  transports: import('nestjs-cluster').ClusterTransport[];
  kill(index: number): Promise<void>;
  stop(): Promise<void>;
}>;
