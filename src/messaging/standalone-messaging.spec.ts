import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { firstValueFrom, take, toArray } from 'rxjs';
import { ClusterModule } from '../cluster.module.js';
import { ClusterService } from '../cluster.service.js';
import {
  ClusterArgumentError,
  DuplicateHandlerError,
  MessageTooLargeError,
  NoHandlerError,
  RemoteHandlerError,
  RequestLimitError,
  RequestTimeoutError,
  SerializationError,
  WorkerUnavailableError,
} from '../cluster.errors.js';
import { CLUSTER_DEFAULTS } from '../cluster-options.js';
import type { WorkerInfo } from '../interfaces/worker-info.interface.js';
import type { MessageLimits } from '../transports/cluster-transport.interface.js';
import { LocalTransport } from '../transports/local.transport.js';
import { ClusterRequestHandler, OnClusterMessage } from './cluster-message.decorators.js';
import { of } from 'rxjs';

/** Jest's object on native ESM (no injected global there). */
const { jest } = import.meta;

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

async function standaloneApp(serialization: 'json' | 'advanced' = 'json', limits: Partial<MessageLimits> = {}) {
  const transport = new LocalTransport({ node: 'n1', id: 0, slot: 0, pid: process.pid }, serialization, { ...CLUSTER_DEFAULTS.messaging, ...limits });
  const moduleRef = await Test.createTestingModule({
    imports: [ClusterModule.forRoot({ transport, requestTimeoutMs: 200, isGlobal: true }), GreeterModule],
  }).compile();
  const app = moduleRef.createNestApplication();
  await app.init();
  return { app, transport, cluster: app.get(ClusterService), greeter: app.get(Greeter) };
}

/** A member of the snapshot, ready unless told otherwise. */
function member(slot: number, fields: Partial<WorkerInfo> = {}): WorkerInfo {
  return { node: 'n1', id: slot, slot, pid: 100 + slot, state: 'ready', startedAt: 0, readyAt: 0, restarts: 0, congested: false, ...fields };
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

  it('refuses data over maxMessageBytes at the call, sending nothing', async () => {
    const { app, transport, cluster } = await standaloneApp('json', { maxMessageBytes: 1_024 });
    cluster.handle('echo', (data) => data);
    const sent = jest.spyOn(transport, 'send');
    const big = 'é'.repeat(600); // 602 characters of JSON, 1,202 bytes of UTF-8
    expect(() => cluster.publish('news', big)).toThrow(MessageTooLargeError);
    expect(() => cluster.send(0, 'news', big)).toThrow(MessageTooLargeError);
    const rejected = await cluster.request('echo', big).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(MessageTooLargeError);
    expect(rejected).toMatchObject({ code: 'CLUSTER_ERR_MESSAGE_TOO_LARGE', bytes: 1_202, limit: 1_024 });
    expect(sent).not.toHaveBeenCalled();

    await expect(cluster.request('echo', 'é'.repeat(300))).resolves.toBe('é'.repeat(300)); // 602 bytes: fits
    await app.close();
  });

  it('refuses a request at once beyond maxPendingRequests', async () => {
    const { app, cluster } = await standaloneApp('json', { maxPendingRequests: 2 });
    cluster.handle('never', () => new Promise(() => undefined));
    const waiting = [cluster.request('never', 1), cluster.request('never', 2)].map((p) => p.catch((e: unknown) => e));
    const refused = await cluster.request('never', 3).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RequestLimitError);
    expect(refused).toMatchObject({ code: 'CLUSTER_ERR_REQUEST_LIMIT', limit: 2 });
    await app.close();
    for (const error of await Promise.all(waiting)) expect(error).toBeInstanceOf(WorkerUnavailableError);
  });

  it('frees a place for the next request once a pending one settles', async () => {
    const { app, cluster } = await standaloneApp('json', { maxPendingRequests: 1 });
    await expect(cluster.request('greet', 'a')).resolves.toBe('hello a');
    await expect(cluster.request('greet', 'b')).resolves.toBe('hello b');
    await app.close();
  });

  it('returns false from publish when another worker is congested, true otherwise', async () => {
    const { app, transport, cluster } = await standaloneApp();
    expect(cluster.publish('news', 1)).toBe(true);
    transport.apply([member(0, { congested: true }), member(1)]);
    expect(cluster.publish('news', 2)).toBe(true); // only this process is congested: no receiver is
    transport.apply([member(0), member(1, { congested: true })]);
    expect(cluster.publish('news', 3)).toBe(false);
    await app.close();
  });

  it('returns false from send when the target slot is congested', async () => {
    const { app, transport, cluster } = await standaloneApp();
    transport.apply([member(0), member(1, { congested: true })]);
    expect(cluster.send(0, 'news', 1)).toBe(true);
    expect(cluster.send(1, 'news', 2)).toBe(false);
    await app.close();
  });
});
