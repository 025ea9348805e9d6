import type { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { HandOptions } from '../channel/channel-to-worker.js';
import { ConnectionHanding } from './connection-handing.js';
import type { Member } from './slot-table.js';

const logger = { log: () => undefined, error: () => undefined, warn: () => undefined } as unknown as Logger;

/** A connection the primary accepted: destroyed is all the primary does to its own copy. */
function connection(): Socket & { destroyed: boolean } {
  const fake = {
    destroyed: false,
    destroy() {
      fake.destroyed = true;
      return fake;
    },
    _handle: { readStart: () => 0, close: () => undefined },
  };
  return fake as unknown as Socket & { destroyed: boolean };
}

interface FakeMember extends Member {
  /** Ids of the connections handed to it, in order. */
  readonly handed: Array<{ id: number; head?: Buffer }>;
  /** The channel refuses writes (closed). */
  refuses: boolean;
  /** Its node:cluster worker: `connected` until `disconnect`. */
  readonly worker: EventEmitter & { connected: boolean };
}

function member(slot: number): FakeMember {
  const worker = Object.assign(new EventEmitter(), { connected: true, isConnected: () => worker.connected });
  const handed: FakeMember['handed'] = [];
  const fake = {
    identity: { node: 'n', id: slot + 1, slot, pid: 100 + slot },
    process: { worker },
    handed,
    refuses: false,
    worker,
    channel: {
      handConnection: (_port: number, _connection: unknown, { head, id }: HandOptions) => {
        if (fake.refuses) return false;
        handed.push({ id: id!, head });
        return true;
      },
    },
  };
  return fake as unknown as FakeMember;
}

/** Picks the first ready worker not refused. */
const first =
  (ready: () => Member[]) =>
  (refused: ReadonlySet<Member>): Member | undefined =>
    ready().find((m) => !refused.has(m));

describe('ConnectionHanding', () => {
  let handing: ConnectionHanding;
  afterEach(() => handing.close());

  it('keeps its copy of a handed connection until the worker took it, then closes its copy', () => {
    handing = new ConnectionHanding(logger);
    const w = member(0);
    const c = connection();
    handing.hand({ connection: c, port: 3000, pick: first(() => [w]) });
    expect(w.handed).toHaveLength(1);
    expect(c.destroyed).toBe(false);
    expect(handing.counts).toEqual({ held: 1, waiting: 0 });
    handing.answered(w, w.handed[0]!.id, true);
    expect(c.destroyed).toBe(true);
    expect(handing.counts).toEqual({ held: 0, waiting: 0 });
  });

  it('hands a connection the worker refused to another ready worker', () => {
    handing = new ConnectionHanding(logger);
    const [a, b] = [member(0), member(1)];
    const c = connection();
    handing.hand({ connection: c, port: 3000, pick: first(() => [a, b]) });
    handing.answered(a, a.handed[0]!.id, false);
    expect(b.handed).toHaveLength(1);
    expect(c.destroyed).toBe(false);
    handing.answered(b, b.handed[0]!.id, true);
    expect(c.destroyed).toBe(true);
  });

  it('ignores an answer from a worker the connection was not handed to', () => {
    handing = new ConnectionHanding(logger);
    const [a, b] = [member(0), member(1)];
    const c = connection();
    handing.hand({ connection: c, port: 3000, pick: first(() => [a]) });
    handing.answered(b, a.handed[0]!.id, true);
    expect(c.destroyed).toBe(false);
    expect(handing.counts.held).toBe(1);
  });

  it('gives the connections a dead worker never took to another worker, once its channel has ended, and only those', () => {
    handing = new ConnectionHanding(logger);
    const [a, b] = [member(0), member(1)];
    let ready = [a, b];
    const [taken, untaken1, untaken2] = [connection(), connection(), connection()];
    for (const c of [taken, untaken1, untaken2]) handing.hand({ connection: c, port: 3000, head: Buffer.from('GET'), pick: first(() => ready) });
    handing.answered(a, a.handed[0]!.id, true);
    ready = [b];
    handing.workerGone(a);
    // Its channel has not ended: an answer may still be on the way.
    expect(b.handed).toHaveLength(0);
    handing.answered(a, a.handed[1]!.id, true); // written before it died, read after its exit
    a.worker.connected = false;
    a.worker.emit('disconnect');
    expect(b.handed).toHaveLength(1);
    expect(b.handed[0]!.head?.toString()).toBe('GET');
    expect(taken.destroyed).toBe(true);
    expect(untaken1.destroyed).toBe(true);
    expect(untaken2.destroyed).toBe(false);
  });

  it('does not wait for the channel of a worker that is already disconnected', () => {
    handing = new ConnectionHanding(logger);
    const [a, b] = [member(0), member(1)];
    let ready = [a];
    handing.hand({ connection: connection(), port: 3000, pick: first(() => ready) });
    ready = [b];
    a.worker.connected = false;
    handing.workerGone(a);
    expect(b.handed).toHaveLength(1);
  });

  it('tries the next worker when a channel refuses the write', () => {
    handing = new ConnectionHanding(logger);
    const [a, b] = [member(0), member(1)];
    a.refuses = true;
    handing.hand({ connection: connection(), port: 3000, pick: first(() => [a, b]) });
    expect(b.handed).toHaveLength(1);
    expect(handing.counts.held).toBe(1);
  });

  it('makes a connection wait for a ready worker, and hands it as soon as one is', () => {
    handing = new ConnectionHanding(logger);
    const a = member(0);
    let ready: Member[] = [];
    const c = connection();
    handing.hand({ connection: c, port: 3000, pick: first(() => ready) });
    expect(handing.counts).toEqual({ held: 0, waiting: 1 });
    ready = [a];
    handing.workerReady();
    expect(a.handed).toHaveLength(1);
    expect(handing.counts).toEqual({ held: 1, waiting: 0 });
  });

  it('closes a connection that waited its longest for a ready worker', async () => {
    handing = new ConnectionHanding(logger, 20);
    const c = connection();
    handing.hand({ connection: c, port: 3000, pick: () => undefined });
    expect(c.destroyed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(c.destroyed).toBe(true);
    expect(handing.counts.waiting).toBe(0);
  });

  it('closes the waiting connections when the cluster stops, and any given back after', () => {
    handing = new ConnectionHanding(logger);
    const a = member(0);
    const waiting = connection();
    const held = connection();
    handing.hand({ connection: held, port: 3000, pick: first(() => [a]) });
    handing.hand({ connection: waiting, port: 3000, pick: () => undefined });
    handing.close();
    expect(waiting.destroyed).toBe(true);
    handing.answered(a, a.handed[0]!.id, false);
    expect(held.destroyed).toBe(true);
  });
});
