// my-link.spec.ts: jest or vitest with globals (or pass { describe, it })
import { nodeLinkConformance } from 'nestjs-cluster/testing';

nodeLinkConformance('MyLink', {
  outage: true, // its clusters can cut() and restore() their broker
  lease: true, // its links offer a LeaderLease
  create: async (nodes) => {
    const broker = await startMyBroker(); // a server of the test's own
    return {
      links: nodes.map((node) => new MyLink({ url: broker.url, cluster: 'conformance', node })),
      cut: () => broker.stop(),
      restore: () => broker.start(),
      close: () => broker.stop(),
    };
  },
});

// docs/transports.md's NodeLink recipe is a test file of the reader's own link: it is compiled, not run.
// `startMyBroker` and `MyLink` are the reader's; declared here with the shape the recipe relies on.
declare function startMyBroker(): Promise<{ url: string; start(): Promise<void>; stop(): Promise<void> }>;
declare const MyLink: new (options: { url: string; cluster: string; node: string }) => import('nestjs-cluster/transport').NodeLink;
