import { jest } from '@jest/globals';
import { Controller, Injectable, Logger, Module, Scope, type ModuleMetadata } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { ClusterModule } from '../cluster.module.js';
import { ClusterService } from '../cluster.service.js';
import { ON_CLUSTER_MESSAGE, OnClusterMessage } from '../messaging/cluster-message.decorators.js';
import { LocalTransport } from '../transports/local.transport.js';
import { LeaderOnly } from './leader-only.decorator.js';
import { LeaderOnlyExplorer } from './leader-only.explorer.js';

const self = { node: 'n1', id: 1, slot: 0, pid: 101 };
const other = { node: 'n1', slot: 1, pid: 102, epoch: 2 };

@Injectable()
class Jobs {
  readonly ran: string[] = [];

  @LeaderOnly()
  report(day: string): string {
    this.ran.push(day);
    return `report ${day}`;
  }

  @LeaderOnly()
  async rebuild(): Promise<string> {
    this.ran.push('rebuild');
    return 'rebuilt';
  }

  everywhere(): string {
    this.ran.push('everywhere');
    return 'done';
  }

  @OnClusterMessage('before')
  @LeaderOnly()
  listenedBefore(): void {
    this.ran.push('before');
  }

  @LeaderOnly()
  @OnClusterMessage('after')
  listenedAfter(): void {
    this.ran.push('after');
  }
}

@Controller()
class JobsController {
  @LeaderOnly()
  trigger(): string {
    return 'triggered';
  }
}

describe('LeaderOnlyExplorer', () => {
  let ref: TestingModule | undefined;
  let transport: LocalTransport;

  beforeEach(() => {
    transport = new LocalTransport(self);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await ref?.close();
    ref = undefined;
  });

  async function start(imports: ModuleMetadata['imports'] = [ClusterModule.forRoot({ transport })]): Promise<TestingModule> {
    ref = await Test.createTestingModule({ imports, providers: [Jobs], controllers: [JobsController] }).compile();
    await ref.init();
    return ref;
  }

  function follow(): void {
    jest.spyOn(transport, 'leader').mockReturnValue(other);
  }

  it('runs a marked method on the leader, with its arguments and result', async () => {
    const jobs = (await start()).get(Jobs);
    expect(jobs.report('monday')).toBe('report monday');
    await expect(jobs.rebuild()).resolves.toBe('rebuilt');
    expect(jobs.ran).toEqual(['monday', 'rebuild']);
  });

  it('skips a marked method on a worker that does not lead, and returns undefined', async () => {
    const jobs = (await start()).get(Jobs);
    follow();
    expect(jobs.report('monday')).toBeUndefined();
    expect(await jobs.rebuild()).toBeUndefined();
    expect(jobs.everywhere()).toBe('done');
    expect(jobs.ran).toEqual(['everywhere']);
  });

  it('asks the transport at each call: leadership that moves is followed', async () => {
    const jobs = (await start()).get(Jobs);
    const leader = jest.spyOn(transport, 'leader').mockReturnValue(other);
    expect(jobs.report('1')).toBeUndefined();
    leader.mockReturnValue({ node: self.node, slot: self.slot, pid: self.pid, epoch: 3 });
    expect(jobs.report('2')).toBe('report 2');
    leader.mockReturnValue(null);
    expect(jobs.report('3')).toBeUndefined();
    expect(jobs.ran).toEqual(['2']);
  });

  it('guards the methods of controllers too', async () => {
    const controller = (await start()).get(JobsController);
    follow();
    expect(controller.trigger()).toBeUndefined();
  });

  it('keeps what other decorators put on the method, in either order, and wires handlers guarded', async () => {
    const app = await start();
    const jobs = app.get(Jobs);
    expect(Reflect.getMetadata(ON_CLUSTER_MESSAGE, jobs.listenedBefore)).toEqual(['before']);
    expect(Reflect.getMetadata(ON_CLUSTER_MESSAGE, jobs.listenedAfter)).toEqual(['after']);
    expect(jobs.listenedBefore.name).toBe('listenedBefore');
    const cluster = app.get(ClusterService);
    cluster.publish('before', null, { includeSelf: true });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(jobs.ran).toEqual(['before']);
    follow();
    cluster.publish('after', null, { includeSelf: true });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(jobs.ran).toEqual(['before']);
  });

  it('guards a method once when ClusterModule is imported twice', async () => {
    @Module({ imports: [ClusterModule.forRoot({ transport })] })
    class FeatureModule {}

    const app = await start([ClusterModule.forRoot({ transport }), FeatureModule]);
    const jobs = app.get(Jobs);
    const guard = jobs.report;
    for (const explorer of app.get(LeaderOnlyExplorer, { each: true })) explorer.explore();
    expect(jobs.report).toBe(guard);
    expect(Object.getPrototypeOf(jobs).report).not.toBe(guard);
    expect(jobs.report('x')).toBe('report x');
  });

  it('leaves the methods alone in an app without ClusterModule', async () => {
    const jobs = (await start([])).get(Jobs);
    expect(jobs.report('monday')).toBe('report monday');
    expect(Object.hasOwn(jobs, 'report')).toBe(false);
  });

  it('names a request-scoped provider whose marked methods it cannot guard', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);

    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      @LeaderOnly()
      cleanup(): void {}
    }

    ref = await Test.createTestingModule({ imports: [ClusterModule.forRoot({ transport })], providers: [PerRequest] }).compile();
    await ref.init();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('@LeaderOnly() on PerRequest.cleanup is not applied'));
  });

  it('refuses to decorate what is not a method', () => {
    expect(() => LeaderOnly()({}, 'value', { value: 42 })).toThrow('@LeaderOnly() goes on a method; value is not one');
  });
});
