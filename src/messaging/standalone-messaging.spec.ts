import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { firstValueFrom, take, toArray } from 'rxjs';
import { ClusterModule } from '../cluster.module.js';
import { ClusterService } from '../cluster.service.js';
import {
  ClusterArgumentError,
  DuplicateHandlerError,
  NoHandlerError,
  RemoteHandlerError,
  RequestTimeoutError,
  SerializationError,
  WorkerUnavailableError,
} from '../cluster.errors.js';
import { LocalTransport } from '../transports/local.transport.js';
import { ClusterRequestHandler, OnClusterMessage } from './cluster-message.decorators.js';
import { of } from 'rxjs';

@Injectable()
class Greeter {
  readonly heard: unknown[] = [];

  @ClusterRequestHandler('greet')
  greet(name: string): string {
    return `hello ${name}`;
  }

  @OnClusterMessage('news')
  onNews(data: unknown): void {
    this.heard.push(data);
  }
}

@Module({ providers: [Greeter] })
class GreeterModule {}

async function standaloneApp(serialization: 'json' | 'advanced' = 'json') {
  const transport = new LocalTransport({ id: 0, slot: 0, pid: process.pid }, serialization);
  const moduleRef = await Test.createTestingModule({
    imports: [ClusterModule.forRoot({ transport, requestTimeoutMs: 200, isGlobal: true }), GreeterModule],
  }).compile();
  const app = moduleRef.createNestApplication();
  await app.init();
  return { app, cluster: app.get(ClusterService), greeter: app.get(Greeter) };
}

describe('messaging in a standalone process', () => {
  it('answers requests through @ClusterRequestHandler and handle()', async () => {
    const { app, cluster } = await standaloneApp();
    expect(cluster.role).toBe('standalone');
    await expect(cluster.request('greet', 'ada')).resolves.toBe('hello ada');
    await expect(cluster.request('greet', 'bob', { to: 0 })).resolves.toBe('hello bob');

    cluster.handle('double', (n: number) => n * 2);
    cluster.handle('observable', () => of('first', 'second'));
    await expect(cluster.request('double', 21)).resolves.toBe(42);
    await expect(cluster.request('observable', null)).resolves.toBe('first');
    await app.close();
  });

  it('delivers publish to this process only with includeSelf, and send to its own slot', async () => {
    const { app, cluster, greeter } = await standaloneApp();
    const received = firstValueFrom(cluster.on<number>('news').pipe(take(2), toArray()));
    cluster.publish('news', 1); // no other worker: goes nowhere
    cluster.publish('news', 2, { includeSelf: true });
    cluster.send(0, 'news', 3);
    expect((await received).map((m) => m.data)).toEqual([2, 3]);
    expect(greeter.heard).toEqual([2, 3]);
    await app.close();
  });

  it('gives typed errors', async () => {
    const { app, cluster } = await standaloneApp();
    cluster.handle('boom', () => {
      throw Object.assign(new Error('kaput'), { code: 'E_BOOM' });
    });
    cluster.handle('never', () => new Promise(() => undefined));

    await expect(cluster.request('nobody', null)).rejects.toBeInstanceOf(NoHandlerError);
    await expect(cluster.request('greet', 'x', { to: 3 })).rejects.toBeInstanceOf(WorkerUnavailableError);
    expect(() => cluster.send(3, 'news', 1)).toThrow(WorkerUnavailableError);
    const remote = await cluster.request('boom', null).catch((e: unknown) => e);
    expect(remote).toBeInstanceOf(RemoteHandlerError);
    expect(remote).toMatchObject({ remoteMessage: 'kaput', remoteCode: 'E_BOOM', code: 'CLUSTER_ERR_REMOTE_HANDLER' });
    await expect(cluster.request('never', null, { timeoutMs: 50 })).rejects.toBeInstanceOf(RequestTimeoutError);
    expect(() => cluster.publish('news', { n: 1n })).toThrow(SerializationError);
    await expect(cluster.request('greet', 1n)).rejects.toBeInstanceOf(SerializationError);
    expect(() => cluster.handle('greet', () => 1)).toThrow(DuplicateHandlerError);
    expect(() => cluster.publish('', 1)).toThrow(ClusterArgumentError);
    await expect(cluster.request('greet', 'x', { timeoutMs: 0 })).rejects.toBeInstanceOf(ClusterArgumentError);
    await app.close();
  });

  it('rejects pending requests and completes on() streams when the app closes', async () => {
    const { app, cluster } = await standaloneApp();
    cluster.handle('never', () => new Promise(() => undefined));
    const pending = cluster.request('never', null, { timeoutMs: 10_000 }).catch((e: unknown) => e);
    const stream = firstValueFrom(cluster.on('news').pipe(toArray()));
    await app.close();
    expect(await pending).toBeInstanceOf(WorkerUnavailableError);
    await expect(stream).resolves.toEqual([]);
  });

  it("with 'advanced' serialization carries Map, Date and BigInt", async () => {
    const { app, cluster } = await standaloneApp('advanced');
    cluster.handle('echo', (data) => data);
    const sent = { map: new Map([[1, 'a']]), date: new Date(5), big: 7n };
    const back = await cluster.request<typeof sent>('echo', sent);
    // v8.deserialize builds objects of the main realm, not of Jest's sandbox: compare by tag.
    expect(Object.prototype.toString.call(back.map)).toBe('[object Map]');
    expect(back.map.get(1)).toBe('a');
    expect(back.date.getTime()).toBe(5);
    expect(back.big).toBe(7n);
    expect(back).not.toBe(sent); // a copy, as over a real wire
    await app.close();
  });
});
