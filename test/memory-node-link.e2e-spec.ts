/**
 * The NodeLink seam works from outside the package: a link built in `test/fixtures` from the
 * published `nestjs-cluster/transport` subpath alone passes the conformance suite of
 * `nestjs-cluster/testing`, run the way the author of a link to another broker runs it. And the
 * suite itself reports what it cannot run as skipped, and fails a link that breaks the contract.
 */
import type { NodeLink } from 'nestjs-cluster/transport';
import { nodeLinkConformance, type ConformanceRunner, type NodeLinkFactory } from 'nestjs-cluster/testing';
import { MemoryBroker, MemoryNodeLink } from './fixtures/memory-node-link.js';

const memoryLinks: NodeLinkFactory = {
  outage: true,
  lease: true,
  settleMs: 3_000,
  async create(nodes) {
    const broker = new MemoryBroker();
    return {
      links: nodes.map((node) => new MemoryNodeLink(broker, node)),
      cut: async () => broker.cut(),
      restore: async () => broker.restore(),
      close: async () => undefined,
    };
  },
};

nodeLinkConformance('an in-memory NodeLink built on the kit', memoryLinks);

/** The cases as a runner would see them: titles, whether skipped, and their bodies to run by hand. */
function registered(factory: NodeLinkFactory): { title: string; skipped: boolean; run: () => Promise<void> }[] {
  const cases: { title: string; skipped: boolean; run: () => Promise<void> }[] = [];
  const runner: ConformanceRunner = {
    describe: (_name, body) => body(),
    it: Object.assign((title: string, run: () => Promise<void>) => void cases.push({ title, skipped: false, run }), {
      skip: (title: string, run: () => Promise<void>) => void cases.push({ title, skipped: true, run }),
    }),
  };
  nodeLinkConformance('under test', factory, runner);
  return cases;
}

/** The links of `factory`, each with one of its calls replaced. */
function breaking(factory: NodeLinkFactory, change: (link: NodeLink) => Partial<NodeLink>): NodeLinkFactory {
  return {
    ...factory,
    async create(nodes) {
      const cluster = await factory.create(nodes);
      const links = cluster.links.map((link) => {
        const broken = change(link);
        return new Proxy(link, { get: (target, key) => (key in broken ? broken[key as keyof NodeLink] : Reflect.get(target, key, target)) });
      });
      return { ...cluster, links, close: () => Promise.all(cluster.links.map((l) => l.close())).then(() => cluster.close()) };
    },
  };
}

describe('nodeLinkConformance', () => {
  it('reports the cases a factory offers nothing for as skipped, saying why, never as passed', () => {
    const cases = registered({ create: memoryLinks.create });
    const skipped = cases.filter((c) => c.skipped).map((c) => c.title);
    expect(skipped).toHaveLength(4);
    expect(skipped.filter((t) => t.endsWith('(the factory offers no outage)'))).toHaveLength(1);
    expect(skipped.filter((t) => t.endsWith('(the factory offers no lease)'))).toHaveLength(3);
    expect(registered(memoryLinks).every((c) => !c.skipped)).toBe(true);
  });

  it('fails a link that disconnects without saying goodbye', async () => {
    const goodbye = registered(breaking(memoryLinks, () => ({ close: async () => undefined }))).find((c) =>
      c.title.startsWith('close() says goodbye'),
    )!;
    await expect(goodbye.run()).rejects.toThrow(/still knows conformance-.*close\(\)/);
  });

  it('fails a link that takes a message for a node it does not know', async () => {
    const sendTo = registered(breaking(memoryLinks, (link) => ({ sendTo: (node, message) => link.sendTo(node, message) || !link.knows(node) }))).find(
      (c) => c.title.startsWith('sendTo a known node'),
    )!;
    await expect(sendTo.run()).rejects.toThrow(/returned true for a node that never joined/);
  });
});
