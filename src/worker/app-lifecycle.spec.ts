import { jest } from '@jest/globals';
import { Controller, Get, Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { resolveClusterOptions } from '../cluster-options.js';
import { ClusterModule } from '../cluster.module.js';
import { ClusterService } from '../cluster.service.js';
import { LeaderOnly } from '../leadership/leader-only.decorator.js';
import { ClusterTransport } from '../transports/cluster-transport.interface.js';
import { LocalTransport } from '../transports/local.transport.js';
import { startApp, type StartedApp } from './app-lifecycle.js';

const self = { node: 'n1', id: 1, slot: 0, pid: 101 };

@Injectable()
class Reports {
  @LeaderOnly()
  daily(): string {
    return 'sent';
  }
}

@Controller()
class ReportsController {
  constructor(private readonly reports: Reports) {}

  @Get('route')
  @LeaderOnly()
  route(): string {
    return 'route ran';
  }

  @Get('daily')
  daily(): string {
    return this.reports.daily() ?? 'skipped';
  }
}

@Module({ imports: [ClusterModule.forRoot({ isGlobal: true })], providers: [Reports], controllers: [ReportsController] })
class AppModule {}

@Module({})
class PlainModule {}

describe('startApp', () => {
  let started: StartedApp | undefined;

  afterEach(async () => {
    jest.restoreAllMocks();
    await started?.app.close();
    started = undefined;
  });

  function options(createApp = (m: Parameters<typeof NestFactory.create>[0]) => NestFactory.create(m, { logger: false })) {
    return resolveClusterOptions<INestApplication>({ createApp, listen: (app) => app.listen(0, '127.0.0.1') }, {});
  }

  async function get(path: string): Promise<string> {
    const app = started!.app as INestApplication;
    return (await fetch(`${await app.getUrl()}${path}`)).text();
  }

  it("gives ClusterModule the runtime's transport, and keeps the user's module a module of the app", async () => {
    const transport = new LocalTransport(self);
    started = await startApp(AppModule, options(), transport);
    const { app } = started;
    expect(app.get(ClusterTransport)).toBe(transport);
    expect(app.get(ClusterService).self).toEqual(self);
    expect(app.get(AppModule)).toBeInstanceOf(AppModule);
    expect(app.select(AppModule).get(Reports)).toBeInstanceOf(Reports);
  });

  it('guards @LeaderOnly() route handlers, which Nest binds before module init', async () => {
    const transport = new LocalTransport(self);
    jest.spyOn(transport, 'leader').mockReturnValue({ node: 'n1', slot: 1, pid: 102, epoch: 2 });
    started = await startApp(AppModule, options(), transport);
    expect(await get('/route')).toBe('');
    expect(await get('/daily')).toBe('skipped');
  });

  it('runs them on the leader', async () => {
    started = await startApp(AppModule, options(), new LocalTransport(self));
    expect(await get('/route')).toBe('route ran');
    expect(await get('/daily')).toBe('sent');
  });

  it('refuses an app that createApp built from another module than the one it was given', async () => {
    const createApp = () => NestFactory.create(AppModule, { logger: false });
    await expect(startApp(AppModule, options(createApp), new LocalTransport(self))).rejects.toThrow(
      'createApp built the app from another module than the one it is given',
    );
  });

  it('lets an app without ClusterModule be built from any module', async () => {
    const createApp = () => NestFactory.create(PlainModule, { logger: false });
    started = await startApp(AppModule, options(createApp), new LocalTransport(self));
    expect(started.app.get(PlainModule)).toBeInstanceOf(PlainModule);
  });
});
