import type { WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { WorkerInfo } from '../interfaces/worker-info.interface.js';
import { messageEnvelope, type MessageEnvelope } from '../messaging/envelope.js';
import type { LaneReceiver, MessageLane } from '../transports/message-lane.interface.js';
import { DirectRouting } from './direct-routing.js';

const info = (node: string, slot: number, pid: number, fields: Partial<WorkerInfo> = {}): WorkerInfo => ({
  node,
  id: slot + 1,
  slot,
  pid,
  state: 'ready',
  startedAt: 0,
  readyAt: 0,
  restarts: 0,
  congested: false,
  ...fields,
});

class FakeLane implements MessageLane {
  up = true;
  receiver!: LaneReceiver;
  readonly written: Array<{ to: WorkerIdentity | 'all'; message: MessageEnvelope }> = [];
  start(receiver: LaneReceiver): void {
    this.receiver = receiver;
  }
  publish(message: MessageEnvelope): boolean {
    this.written.push({ to: 'all', message });
    return this.up;
  }
  sendTo(worker: WorkerIdentity, message: MessageEnvelope): boolean {
    this.written.push({ to: worker, message });
    return this.up;
  }
  async close(): Promise<void> {}
}

const self = { node: 'a', id: 1, slot: 0, pid: 10 };
const b0 = info('b', 0, 20);

function setup(members: WorkerInfo[] = [info('a', 0, 10), b0]) {
  const lane = new FakeLane();
  const delivered: MessageEnvelope[] = [];
  let current = members;
  const routing = new DirectRouting(
    self,
    lane,
    () => current,
    (message) => delivered.push(message),
  );
  routing.start();
  return { lane, delivered, routing, setMembers: (next: WorkerInfo[]) => (current = next) };
}

const request = (id: string, to: { node: string; slot: number } | undefined, from: WorkerIdentity = self) =>
  messageEnvelope('request', { topic: 't', id, from, to, data: '1', timeoutMs: 5_000 });
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('DirectRouting', () => {
  it('writes a request for a worker of another node to the process serving that slot, and delivers its reply from that process only', () => {
    const { lane, delivered, routing } = setup();
    expect(routing.outgoing(request('7', { node: 'b', slot: 0 }))).toBe(true);
    expect(lane.written).toEqual([{ to: b0, message: expect.objectContaining({ id: '7' }) }]);
    // A reply under that id from another process of node b is not the one asked.
    lane.receiver.message(messageEnvelope('reply', { topic: 't', id: '7', from: { node: 'b', id: 9, slot: 0, pid: 99 }, data: '2' }));
    expect(delivered).toEqual([]);
    lane.receiver.message(messageEnvelope('reply', { topic: 't', id: '7', from: b0, data: '2' }));
    expect(delivered).toEqual([expect.objectContaining({ kind: 'reply', id: '7' })]);
  });

  it('leaves requests routed by topic, and messages for this node, to the primary; a publish goes both ways', () => {
    const { lane, routing } = setup();
    expect(routing.outgoing(request('1', undefined))).toBe(false);
    expect(routing.outgoing(request('2', { node: 'a', slot: 1 }))).toBe(false);
    expect(routing.outgoing(messageEnvelope('publish', { topic: 'p', from: self }))).toBe(false);
    expect(lane.written.map((w) => w.to)).toEqual(['all']);
  });

  it('answers a request of another node under an id of its own, and writes the reply back under the requester id', () => {
    const { lane, delivered, routing } = setup();
    lane.receiver.message(request('41', { node: 'a', slot: 0 }, b0));
    const local = delivered[0]!;
    expect(local.id).not.toBe('41');
    expect(routing.outgoing(messageEnvelope('reply', { topic: 't', id: local.id, from: self, to: { node: 'b', slot: 0 }, data: '3' }))).toBe(true);
    expect(lane.written).toEqual([{ to: b0, message: expect.objectContaining({ kind: 'reply', id: '41' }) }]);
  });

  it('drops what comes from a node it does not know, and its own node publishes (the primary brings those)', () => {
    const { lane, delivered } = setup();
    lane.receiver.message(messageEnvelope('publish', { topic: 'p', from: info('c', 0, 30) }));
    lane.receiver.message(messageEnvelope('publish', { topic: 'p', from: info('a', 1, 11) }));
    expect(delivered).toEqual([]);
    lane.receiver.message(messageEnvelope('publish', { topic: 'p', from: b0 }));
    expect(delivered).toHaveLength(1);
  });

  it('refuses at once, with an error reply, a request to a slot nobody serves or while the lane is down', async () => {
    const { lane, delivered, routing } = setup();
    routing.outgoing(request('1', { node: 'b', slot: 5 }));
    routing.outgoing(request('2', { node: 'z', slot: 0 }));
    lane.up = false;
    routing.outgoing(request('3', { node: 'b', slot: 0 }));
    expect(delivered).toEqual([]); // never while the caller is still sending
    await flush();
    expect(delivered.map((m) => [m.id, m.error?.code])).toEqual([
      ['1', 'CLUSTER_ERR_WORKER_UNAVAILABLE'],
      ['2', 'CLUSTER_ERR_WORKER_UNAVAILABLE'],
      ['3', 'CLUSTER_ERR_TRANSPORT_DOWN'],
    ]);
    expect(lane.written).toEqual([]);
  });

  it('fails a request in flight when its worker leaves the membership, when nobody hears its address, and when the lane goes down', () => {
    const { lane, delivered, routing, setMembers } = setup([info('a', 0, 10), b0, info('b', 1, 21)]);
    routing.outgoing(request('1', { node: 'b', slot: 0 }));
    routing.outgoing(request('2', { node: 'b', slot: 1 }));
    routing.outgoing(request('3', { node: 'b', slot: 1 }));
    setMembers([info('a', 0, 10), info('b', 1, 21)]);
    routing.membersChanged([info('a', 0, 10), info('b', 1, 21)]);
    expect(delivered.map((m) => m.id)).toEqual(['1']);
    lane.receiver.unheard([lane.written[1]!.message]);
    expect(delivered.map((m) => m.id)).toEqual(['1', '2']);
    lane.receiver.changed(false);
    expect(delivered.map((m) => [m.id, m.error?.code])).toEqual([
      ['1', 'CLUSTER_ERR_WORKER_UNAVAILABLE'],
      ['2', 'CLUSTER_ERR_WORKER_UNAVAILABLE'],
      ['3', 'CLUSTER_ERR_TRANSPORT_DOWN'],
    ]);
  });

  it('sends to the newest ready worker of a slot while a rolling restart has two', () => {
    const replacement = info('b', 0, 22, { id: 5, startedAt: 10 });
    const { lane, routing } = setup([info('a', 0, 10), info('b', 0, 20, { state: 'draining' }), b0, replacement]);
    routing.outgoing(messageEnvelope('send', { topic: 's', from: self, to: { node: 'b', slot: 0 } }));
    expect(lane.written[0]!.to).toBe(replacement);
  });
});
