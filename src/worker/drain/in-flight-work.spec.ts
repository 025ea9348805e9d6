import type { Socket } from 'node:net';
import { InFlightWork } from './in-flight-work.js';
import type { ProcessingEndHook, ProcessingStartHook, TransportServer } from './transport-server.js';

/** A transport server with Nest's processing hooks, driven by hand. */
function fakeTransport(existing: { start?: ProcessingStartHook; end?: ProcessingEndHook } = {}) {
  const transport = {
    onProcessingStartHook: existing.start,
    onProcessingEndHook: existing.end,
    setOnProcessingStartHook(hook: ProcessingStartHook) {
      this.onProcessingStartHook = hook;
    },
    setOnProcessingEndHook(hook: ProcessingEndHook) {
      this.onProcessingEndHook = hook;
    },
    close: () => undefined,
  };
  /** Runs one message's processing the way Nest does: start hook around the work, end hook after. */
  const begin = (context: unknown) => transport.onProcessingStartHook!(0, context, async () => undefined);
  const finish = (context: unknown) => transport.onProcessingEndHook?.(0, context);
  return { transport: transport as unknown as TransportServer, begin, finish };
}

const tcpContext = (socket: object, buffer = '') => ({ getSocketRef: () => ({ netSocket: socket, buffer }) });

describe('InFlightWork', () => {
  it('counts the messages between their start and end hooks', async () => {
    const work = new InFlightWork();
    const { transport, begin, finish } = fakeTransport();
    expect(work.track(transport)).toBe(true);
    await begin({});
    await begin({});
    expect(work.count).toBe(2);
    finish({});
    expect(work.count).toBe(1);
  });

  it('chains the hooks an instrumentation set before, and tracks a transport once', async () => {
    const calls: string[] = [];
    const { transport, begin, finish } = fakeTransport({
      start: (_id, _context, done) => {
        calls.push('their start');
        return done();
      },
      end: () => calls.push('their end'),
    });
    const work = new InFlightWork();
    work.track(transport);
    work.track(transport);
    await begin({});
    finish({});
    expect(calls).toEqual(['their start', 'their end']);
    expect(work.count).toBe(0);
  });

  it('counts work per TCP connection and says when a connection has none left', async () => {
    const work = new InFlightWork();
    const idle: object[] = [];
    work.onConnectionIdle = (socket) => idle.push(socket);
    const { transport, begin, finish } = fakeTransport();
    work.track(transport);
    const [a, b] = [{}, {}];
    await begin(tcpContext(a));
    await begin(tcpContext(a));
    await begin(tcpContext(b));
    expect([work.countOn(a as Socket), work.countOn(b as Socket)]).toEqual([2, 1]);
    finish(tcpContext(a));
    expect(idle).toEqual([]);
    finish(tcpContext(a));
    expect(idle).toEqual([a]);
    expect(work.countOn(a as Socket)).toBe(0);
  });

  it('knows a connection is between messages only when nothing is half-read', async () => {
    const work = new InFlightWork();
    const { transport, begin } = fakeTransport();
    work.track(transport);
    const socket = { readableLength: 0, bytesRead: 10 } as unknown as Socket;
    const framing = { netSocket: socket, buffer: '' };
    await begin({ getSocketRef: () => framing });
    expect(work.isBetweenMessages(socket)).toBe(true);
    framing.buffer = '12#{"pat';
    expect(work.isBetweenMessages(socket)).toBe(false);
    // A connection that never carried a whole message: clean only if nothing was read at all.
    expect(work.isBetweenMessages({ readableLength: 0, bytesRead: 0 } as unknown as Socket)).toBe(true);
    expect(work.isBetweenMessages({ readableLength: 0, bytesRead: 3 } as unknown as Socket)).toBe(false);
  });

  it('cannot track a transport without processing hooks (older Nest)', () => {
    expect(new InFlightWork().track({ close: () => undefined })).toBe(false);
  });
});
