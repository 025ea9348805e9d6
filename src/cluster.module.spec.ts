import { jest } from '@jest/globals';
import { Injectable, Logger, Module, Scope } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { firstValueFrom, toArray } from 'rxjs';
import { CLUSTER_MODULE_OPTIONS } from './cluster.module-definition.js';
import { ClusterModule } from './cluster.module.js';
import { ClusterService } from './cluster.service.js';
import { ClusterArgumentError, ScaleUnavailableError } from './cluster.errors.js';
import type { ClusterEvent } from './interfaces/cluster-event.interface.js';
import type { ClusterOptionsFactory } from './interfaces/cluster-module-options.interface.js';
import type { WorkerInfo } from './interfaces/worker-info.interface.js';
import { ClusterTransport } from './transports/cluster-transport.interface.js';
import { LocalTransport } from './transports/local.transport.js';
import { freshNodeId } from './cluster-options.js';
import { ClusterRequestHandler, OnClusterMessage } from './messaging/cluster-message.decorators.js';

const identity = { node: 'n1', id: 7, slot: 3, pid: 42 };

function worker(slot: number, state: WorkerInfo['state'] = 'ready'): WorkerInfo {
  return {
    node: 'n1',
    id: slot + 1,
    slot,
    pid: 1000 + slot,
    state,
    startedAt: 1_000,
    readyAt: state === 'ready' ? 2_000 : null,
    restarts: 0,
    congested: false,
  };
}

describe('ClusterModule', () => {
  let moduleRef: TestingModule | undefined;

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  async function compile(imports: Parameters<typeof Test.createTestingModule>[0]['imports']): Promise<TestingModule> {
    moduleRef = await Test.createTestingModule({ imports }).compile();
    return moduleRef;
  }

  describe('forRoot', () => {
    it('without a transport gives a standalone ClusterService for this process', async () => {
      const ref = await compile([ClusterModule.forRoot()]);
      const cluster = ref.get(ClusterService);
      expect(cluster.role).toBe('standalone');
      expect(cluster.self).toEqual({ node: freshNodeId(), id: 0, slot: 0, pid: process.pid });
      expect(ref.get(ClusterTransport)).toBeInstanceOf(LocalTransport);
    });

    it('shares one process transport between modules built in the same process', async () => {
      const first = await Test.createTestingModule({ imports: [ClusterModule.forRoot()] }).compile();
      const second = await Test.createTestingModule({ imports: [ClusterModule.forRoot()] }).compile();
      try {
        expect(first.get(ClusterTransport)).toBe(second.get(ClusterTransport));
      } finally {
        await first.close();
        await second.close();
      }
    });

    it('uses the given transport', async () => {
      const transport = new LocalTransport(identity);
      const ref = await compile([ClusterModule.forRoot({ transport })]);
      const cluster = ref.get(ClusterService);
      expect(ref.get(ClusterTransport)).toBe(transport);
      expect(cluster.self).toEqual(identity);
      expect(cluster.role).toBe('standalone');
    });

    it('exposes the options without the isGlobal extra', async () => {
      const transport = new LocalTransport(identity);
      const ref = await compile([ClusterModule.forRoot({ transport, isGlobal: true })]);
      expect(ref.get(CLUSTER_MODULE_OPTIONS)).toEqual({ transport });
    });
  });

  describe('forRootAsync', () => {
    it('takes the transport from useFactory', async () => {
      const transport = new LocalTransport(identity);
      const ref = await compile([ClusterModule.forRootAsync({ useFactory: () => ({ transport }) })]);
      expect(ref.get(ClusterService).self).toEqual(identity);
      expect(ref.get(ClusterTransport)).toBe(transport);
    });

    it('waits for an async factory', async () => {
      const transport = new LocalTransport(identity);
      const ref = await compile([ClusterModule.forRootAsync({ useFactory: async () => ({ transport }) })]);
      expect(ref.get(ClusterTransport)).toBe(transport);
    });

    it('injects a provider exported by an imported module', async () => {
      const TRANSPORT = Symbol('custom transport');
      const transport = new LocalTransport({ node: 'n1', id: 11, slot: 5, pid: 4242 });

      @Module({ providers: [{ provide: TRANSPORT, useValue: transport }], exports: [TRANSPORT] })
      class TransportModule {}

      const ref = await compile([
        ClusterModule.forRootAsync({
          imports: [TransportModule],
          inject: [TRANSPORT],
          useFactory: (t: ClusterTransport) => ({ transport: t }),
        }),
      ]);
      expect(ref.get(ClusterService).self).toEqual({ node: 'n1', id: 11, slot: 5, pid: 4242 });
    });

    it('builds the options with useClass', async () => {
      const transport = new LocalTransport(identity);

      @Injectable()
      class Options implements ClusterOptionsFactory {
        createClusterOptions() {
          return { transport };
        }
      }

      const ref = await compile([ClusterModule.forRootAsync({ useClass: Options })]);
      expect(ref.get(ClusterTransport)).toBe(transport);
    });

    it('falls back to the process transport when the factory leaves it unset', async () => {
      const ref = await compile([ClusterModule.forRootAsync({ useFactory: () => ({}) })]);
      expect(ref.get(ClusterService).self).toEqual({ node: freshNodeId(), id: 0, slot: 0, pid: process.pid });
    });
  });

  describe('isGlobal', () => {
    @Injectable()
    class Consumer {
      constructor(readonly cluster: ClusterService) {}
    }

    // Does not import ClusterModule.
    @Module({ providers: [Consumer], exports: [Consumer] })
    class FeatureModule {}

    it('makes ClusterService injectable in a module that does not import ClusterModule', async () => {
      const transport = new LocalTransport(identity);
      const ref = await compile([ClusterModule.forRoot({ isGlobal: true, transport }), FeatureModule]);
      expect(ref.get(Consumer).cluster.self).toEqual(identity);
      expect(ref.get(Consumer).cluster).toBe(ref.get(ClusterService));
    });

    it('also applies to forRootAsync', async () => {
      const transport = new LocalTransport(identity);
      const ref = await compile([ClusterModule.forRootAsync({ isGlobal: true, useFactory: () => ({ transport }) }), FeatureModule]);
      expect(ref.get(Consumer).cluster.self).toEqual(identity);
    });

    it('is off by default: the other module cannot resolve ClusterService', async () => {
      const transport = new LocalTransport(identity);
      await expect(Test.createTestingModule({ imports: [ClusterModule.forRoot({ transport }), FeatureModule] }).compile()).rejects.toThrow(
        /ClusterService/,
      );
    });
  });
});

describe('ClusterService', () => {
  let moduleRef: TestingModule | undefined;
  let transport: LocalTransport;
  let cluster: ClusterService;

  beforeEach(async () => {
    transport = new LocalTransport(identity);
    moduleRef = await Test.createTestingModule({ imports: [ClusterModule.forRoot({ transport })] }).compile();
    cluster = moduleRef.get(ClusterService);
  });

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  const ready: ClusterEvent = { type: 'ready', node: 'n1', id: 1, slot: 0, pid: 1000, at: 3_000, bootMs: 120 };
  const exit: ClusterEvent = {
    type: 'exit',
    node: 'n1',
    id: 2,
    slot: 1,
    pid: 1001,
    at: 4_000,
    code: 1,
    signal: null,
    expected: false,
    reason: 'crashed',
  };

  it('starts with this process as the one ready member', () => {
    expect(cluster.workers()).toEqual([expect.objectContaining({ ...identity, state: 'ready', restarts: 0 })]);
  });

  it('starts from the snapshot the transport already holds', async () => {
    const seeded = new LocalTransport(identity);
    const snapshot = [worker(0)];
    seeded.apply(snapshot);
    const ref = await Test.createTestingModule({ imports: [ClusterModule.forRoot({ transport: seeded })] }).compile();
    try {
      expect(ref.get(ClusterService).workers()).toBe(snapshot);
    } finally {
      await ref.close();
    }
  });

  it('delivers events applied to the transport, in order', () => {
    const seen: ClusterEvent[] = [];
    cluster.events$.subscribe((e) => seen.push(e));
    transport.apply([worker(0)], ready);
    transport.apply([worker(0)], exit);
    expect(seen).toEqual([ready, exit]);
  });

  it('does not replay events from before the subscription', () => {
    transport.apply([worker(0)], ready);
    const seen: ClusterEvent[] = [];
    cluster.events$.subscribe((e) => seen.push(e));
    transport.apply([worker(0)], exit);
    expect(seen).toEqual([exit]);
  });

  it('has the matching membership when an event arrives', () => {
    const snapshot = [worker(0), worker(1, 'starting')];
    let seenWorkers: readonly WorkerInfo[] | undefined;
    cluster.events$.subscribe(() => (seenWorkers = cluster.workers()));
    transport.apply(snapshot, ready);
    expect(seenWorkers).toBe(snapshot);
  });

  it('workers() returns the latest snapshot', () => {
    const first = [worker(0, 'starting')];
    const second = [worker(0), worker(1)];
    transport.apply(first);
    expect(cluster.workers()).toBe(first);
    transport.apply(second, ready);
    expect(cluster.workers()).toBe(second);
  });

  it('workers$ replays the latest snapshot to a late subscriber, then follows', () => {
    const first = [worker(0, 'starting')];
    const second = [worker(0)];
    const third = [worker(0), worker(1)];
    transport.apply(first);
    transport.apply(second);

    const seen: (readonly WorkerInfo[])[] = [];
    cluster.workers$.subscribe((w) => seen.push(w));
    expect(seen).toEqual([second]);

    transport.apply(third);
    expect(seen).toEqual([second, third]);
  });

  it('a snapshot without an event updates workers$ but emits no event', () => {
    const events: ClusterEvent[] = [];
    cluster.events$.subscribe((e) => events.push(e));
    transport.apply([worker(2)]);
    expect(events).toEqual([]);
    expect(cluster.workers()).toEqual([worker(2)]);
  });

  it('completes events$ and workers$ when the module closes', async () => {
    const events = firstValueFrom(cluster.events$.pipe(toArray()));
    const snapshots = firstValueFrom(cluster.workers$.pipe(toArray()));
    transport.apply([worker(0)], ready);

    await moduleRef!.close();
    moduleRef = undefined;

    await expect(events).resolves.toEqual([ready]);
    await expect(snapshots).resolves.toEqual([[expect.objectContaining({ ...identity, state: 'ready' })], [worker(0)]]);
  });

  it('scale refuses a value that is no worker count or change of one, naming it and what is allowed', async () => {
    for (const bad of [-2, 2.5, Number.NaN, '2.5', 'lots', '', null, 123_456] as never[]) {
      const error = await cluster.scale(bad).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ClusterArgumentError);
      expect(error).toMatchObject({ code: 'CLUSTER_ERR_INVALID_ARGUMENT', argument: 'workers', value: bad });
      expect((error as Error).message).toContain("a worker count from 1 to 4096 (4), or a change of it as a string ('+2', '-1')");
    }
  });

  it('scale says a standalone process has no workers to add or remove', async () => {
    const error = await cluster.scale('+1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScaleUnavailableError);
    expect(error).toMatchObject({ code: 'CLUSTER_ERR_SCALE_UNAVAILABLE', workers: '+1' });
    expect((error as Error).message).toBe(
      'Cannot change the worker count ("+1"): clustering is off: a standalone process has no workers to add or remove.',
    );
  });

  it("scale passes the argument on as the wire carries it, and names the caller's own value when the primary refuses it", async () => {
    const asked: string[] = [];
    const primary = new (class extends LocalTransport {
      override scale(workers: string) {
        asked.push(workers);
        if (workers === '0') return Promise.reject(new ClusterArgumentError('workers', workers, 'a worker count from 1 to 4096'));
        return Promise.resolve({ from: 2, to: 4 });
      }
    })(identity);
    const ref = await Test.createTestingModule({ imports: [ClusterModule.forRoot({ transport: primary })] }).compile();
    const service = ref.get(ClusterService);
    await expect(service.scale(4)).resolves.toEqual({ from: 2, to: 4 });
    await expect(service.scale('+2')).resolves.toEqual({ from: 2, to: 4 });
    await expect(service.scale(0)).rejects.toThrow('Invalid workers: 0 is not allowed; expected a worker count from 1 to 4096.');
    expect(asked).toEqual(['4', '+2', '0']);
    await ref.close();
  });

  it('keeps the last snapshot after shutdown, while the transport goes on', async () => {
    const snapshot = [worker(0)];
    transport.apply(snapshot);
    await moduleRef!.close();
    moduleRef = undefined;

    transport.apply([worker(0), worker(1)], ready);
    expect(cluster.workers()).toBe(snapshot);
    expect(transport.workers()).toEqual([worker(0), worker(1)]);
  });
});

describe('ClusterService in a Nest application', () => {
  it('completes its streams on app.close()', async () => {
    const transport = new LocalTransport(identity);
    const moduleRef = await Test.createTestingModule({ imports: [ClusterModule.forRoot({ transport })] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const cluster = app.get(ClusterService);

    let eventsDone = false;
    let workersDone = false;
    cluster.events$.subscribe({ complete: () => (eventsDone = true) });
    cluster.workers$.subscribe({ complete: () => (workersDone = true) });
    expect([eventsDone, workersDone]).toEqual([false, false]);

    await app.close();
    expect([eventsDone, workersDone]).toEqual([true, true]);
  });
});

describe('ClusterModule imported by a feature module and by the root', () => {
  @Injectable()
  class Counter {
    readonly notes: unknown[] = [];

    @OnClusterMessage('twice.note')
    note(data: unknown): void {
      this.notes.push(data);
    }

    @ClusterRequestHandler('twice.ask')
    ask(): string {
      return 'answered';
    }
  }

  @Module({ imports: [ClusterModule.forRoot()], providers: [Counter], exports: [Counter] })
  class FeatureModule {}

  it('wires each decorated method once: one listener call per message, one handler per topic', async () => {
    const transport = new LocalTransport({ ...identity, slot: 0 });
    const moduleRef = await Test.createTestingModule({
      imports: [ClusterModule.forRoot({ isGlobal: true, transport }), ClusterModule.forRoot({ transport }), FeatureModule],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const cluster = app.get(ClusterService);
      cluster.publish('twice.note', 1, { includeSelf: true });
      cluster.publish('twice.note', 2, { includeSelf: true });
      await expect(cluster.request('twice.ask', null, { timeoutMs: 1_000 })).resolves.toBe('answered');
      expect(app.get(Counter).notes).toEqual([1, 2]);
    } finally {
      await app.close();
    }
  });

  it('keeps messaging until the last ClusterService of the process closes', async () => {
    const transport = new LocalTransport({ ...identity, slot: 0 });
    const first = await Test.createTestingModule({ imports: [ClusterModule.forRoot({ transport })] }).compile();
    const second = await Test.createTestingModule({ imports: [ClusterModule.forRoot({ transport })] }).compile();
    const survivor = second.get(ClusterService);
    survivor.handle('twice.alive', () => 'still here');
    await first.close();
    try {
      await expect(survivor.request('twice.alive', null, { timeoutMs: 1_000 })).resolves.toBe('still here');
    } finally {
      await second.close();
    }
  });

  it('warns, naming the class and method, about decorated methods of a request-scoped provider', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      @OnClusterMessage('scoped.note')
      note(): void {}
    }
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const moduleRef = await Test.createTestingModule({
      imports: [ClusterModule.forRoot({ transport: new LocalTransport(identity) })],
      providers: [PerRequest],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      await app.init();
      expect(warn.mock.calls.map(([message]) => String(message)).filter((m) => m.includes('PerRequest.note'))).toHaveLength(1);
    } finally {
      warn.mockRestore();
      await app.close();
    }
  });
});
