/**
 * The transport kit works from outside the package: a transport built in `test/fixtures` from the
 * published `nestjs-cluster/transport` subpath alone passes the conformance suite of
 * `nestjs-cluster/testing`, run the way a transport author runs it; and `ClusterService` on it spans two nodes: addresses, scope, nodes().
 */
import { Test, type TestingModule } from '@nestjs/testing';
import { ClusterArgumentError, ClusterModule, ClusterService, WorkerUnavailableError } from 'nestjs-cluster';
import { transportConformance } from 'nestjs-cluster/testing';
import { firstValueFrom } from 'rxjs';
import { MemoryHub, type MemoryTransport } from './fixtures/memory-transport.js';

transportConformance('an in-memory transport built on the kit', {
  maxMembers: 3,
  async create(size) {
    const hub = new MemoryHub();
    const members: MemoryTransport[] = Array.from({ length: size }, () => hub.join());
    return {
      members,
      remove: async (index) => hub.leave(members[index]!),
      close: async () => undefined,
    };
  },
});

describe('transportConformance with shareCluster', () => {
  /** The suite registered on a runner of our own, then run in order as a test runner would. */
  async function runSuite(failing?: string) {
    const log: string[] = [];
    const tests: Array<{ title: string; body: () => Promise<void> }> = [];
    let cleanup: (() => Promise<void>) | undefined;
    let built = 0;
    transportConformance(
      'shared',
      {
        maxMembers: 3,
        shareCluster: true,
        async create(size) {
          const id = ++built;
          log.push(`create ${id} (${size})`);
          const hub = new MemoryHub();
          const members: MemoryTransport[] = Array.from({ length: size }, () => hub.join());
          if (failing) members[0]!.workers = () => [];
          return { members, remove: async (index) => hub.leave(members[index]!), close: async () => void log.push(`close ${id}`) };
        },
      },
      {
        describe: (_name, body) => body(),
        it: Object.assign((title: string, body: () => Promise<void>) => void tests.push({ title, body }), { skip: () => undefined }),
        afterAll: (body) => void (cleanup = body),
      },
    );
    const outcomes: boolean[] = [];
    for (const test of tests)
      outcomes.push(
        await test.body().then(
          () => true,
          () => false,
        ),
      );
    await cleanup?.();
    return { log, outcomes, tests };
  }

  it('builds one cluster for the cases, one of its own for the member that leaves, and closes each', async () => {
    const { log, outcomes, tests } = await runSuite();
    expect(outcomes.every(Boolean)).toBe(true);
    expect(tests.length).toBeGreaterThan(5);
    // The membership case is last: the shared cluster is closed before it gets its own.
    expect(log).toEqual(['create 1 (3)', 'close 1', 'create 2 (2)', 'close 2']);
  });

  it('gives the case after a failure a fresh cluster', async () => {
    const { log, outcomes } = await runSuite('the members list nobody');
    expect(outcomes[0]).toBe(false);
    expect(log.slice(0, 3)).toEqual(['create 1 (3)', 'close 1', 'create 2 (3)']);
  });
});

describe('ClusterService across the nodes of a transport built on the kit', () => {
  let hub: MemoryHub;
  let apps: TestingModule[];
  let services: ClusterService[];

  beforeEach(async () => {
    hub = new MemoryHub();
    const members = [hub.join(), hub.join(), hub.join()]; // mem-a/0, mem-b/0, mem-a/1
    apps = await Promise.all(members.map((transport) => Test.createTestingModule({ imports: [ClusterModule.forRoot({ transport })] }).compile()));
    services = apps.map((app) => app.get(ClusterService));
    for (const cluster of services) cluster.handle('who', () => `${cluster.self.node}/${cluster.self.slot}`);
  });

  afterEach(async () => {
    await Promise.all(apps.map((app) => app.close()));
  });

  it('lists both nodes, this one first and marked as self', () => {
    expect(services[0]!.nodes()).toEqual([
      expect.objectContaining({ node: 'mem-a', self: true, workers: 2, readyWorkers: 2 }),
      expect.objectContaining({ node: 'mem-b', self: false, workers: 1, readyWorkers: 1 }),
    ]);
  });

  it('requestAll asks every node, or this node only with scope "node", naming node and slot', async () => {
    const everywhere = await services[0]!.requestAll<string>('who', null, { timeoutMs: 2_000 });
    expect(everywhere.replies).toEqual([
      { node: 'mem-a', slot: 0, data: 'mem-a/0' },
      { node: 'mem-a', slot: 1, data: 'mem-a/1' },
      { node: 'mem-b', slot: 0, data: 'mem-b/0' },
    ]);
    const here = await services[0]!.requestAll<string>('who', null, { timeoutMs: 2_000, scope: 'node' });
    expect(here.replies.map((r) => r.data)).toEqual(['mem-a/0', 'mem-a/1']);
    await expect(services[0]!.requestAll('who', null, { scope: 'planet' as never })).rejects.toThrow(/scope/);
  });

  it('addresses a slot of this node with a number and any worker with { node, slot }', async () => {
    await expect(services[0]!.request('who', null, { to: 1 })).resolves.toBe('mem-a/1');
    await expect(services[0]!.request('who', null, { to: { node: 'mem-b', slot: 0 } })).resolves.toBe('mem-b/0');
    const received = firstValueFrom(services[1]!.on<string>('note'));
    expect(services[0]!.send({ node: 'mem-b', slot: 0 }, 'note', 'for b')).toBe(true);
    await expect(received).resolves.toMatchObject({ data: 'for b', from: { node: 'mem-a', slot: 0 } });
  });

  it('fails at once, naming the node, for an unknown node or a slot nobody serves', async () => {
    const unknownNode = services[0]!.request('who', null, { to: { node: 'mem-z', slot: 0 } });
    await expect(unknownNode).rejects.toBeInstanceOf(WorkerUnavailableError);
    await expect(unknownNode).rejects.toMatchObject({ node: 'mem-z', slot: 0, message: expect.stringMatching(/node mem-z.*no such node/) });
    expect(() => services[0]!.send({ node: 'mem-b', slot: 5 }, 'note', 1)).toThrow(WorkerUnavailableError);
    expect(() => services[0]!.send({ node: '', slot: 0 }, 'note', 1)).toThrow(ClusterArgumentError);
  });
});
