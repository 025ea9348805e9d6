import type { LeaderEvent, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { WorkerState } from '../interfaces/worker-info.interface.js';
import { useFakeClock } from '../primary/fake-cluster.spec-helper.js';
import { LeaderAppointment } from './leader-appointment.js';
import { DEFAULT_LEASE_TIMING } from './lease-keeper.js';
import { MemoryLeaseStore } from './lease.spec-helper.js';

const tick = useFakeClock(import.meta.jest);

/** A node's workers as its primary sees them, and the leader events the appointment emits. */
function node(name: string, store?: MemoryLeaseStore) {
  const states = new Map<number, { identity: WorkerIdentity; state: WorkerState }>();
  const events: LeaderEvent[] = [];
  const appointment = new LeaderAppointment(
    name,
    {
      candidates: () =>
        [...states.values()]
          .filter((w) => w.state === 'ready')
          .map((w) => w.identity)
          .sort((a, b) => a.slot - b.slot),
      standing: (id) => states.get(id)?.state ?? 'exited',
      changed: (event) => {
        if (event) events.push(event);
      },
    },
    store && { lease: store.lease(name), timing: DEFAULT_LEASE_TIMING },
  );
  const set = (id: number, slot: number, state: WorkerState | 'exited') => {
    if (state === 'exited') states.delete(id);
    else states.set(id, { identity: { node: name, id, slot, pid: 100 + id }, state });
    appointment.update();
  };
  const leaders = () => events.map((e) => (e.leader ? `${e.leader.slot}@${e.leader.epoch}` : `none:${e.reason}`));
  return { appointment, set, events, leaders };
}

describe('LeaderAppointment on one node', () => {
  it('appoints the first ready worker and keeps it when a lower slot becomes ready', () => {
    const n = node('n1');
    n.set(1, 0, 'starting');
    n.set(2, 1, 'ready');
    n.set(1, 0, 'ready');
    expect(n.leaders()).toEqual(['1@1']);
    expect(n.appointment.leader()).toEqual({ node: 'n1', slot: 1, pid: 102, epoch: 1 });
  });

  it('never appoints a starting or draining worker', () => {
    const n = node('n1');
    n.set(1, 0, 'starting');
    n.set(2, 1, 'draining');
    expect(n.appointment.leader()).toBeNull();
    expect(n.events).toEqual([]);
  });

  it('appoints the lowest ready slot at once when the leader exits, with a higher epoch', () => {
    const n = node('n1');
    for (const [id, slot] of [
      [1, 0],
      [2, 1],
      [3, 2],
    ])
      n.set(id!, slot!, 'ready');
    n.set(1, 0, 'exited');
    expect(n.leaders()).toEqual(['0@1', 'none:exited', '1@2']);
    expect(n.events.at(-1)!.previous).toEqual({ node: 'n1', slot: 0, pid: 101, epoch: 1 });
  });

  it('waits for a draining leader to confirm before it appoints the next', () => {
    const n = node('n1');
    n.set(1, 0, 'ready');
    n.set(2, 1, 'ready');
    n.set(1, 0, 'draining');
    expect(n.leaders()).toEqual(['0@1', 'none:draining']);
    n.set(3, 2, 'ready'); // other changes do not skip the wait
    expect(n.appointment.leader()).toBeNull();
    n.appointment.released(2); // not the one told
    expect(n.appointment.leader()).toBeNull();
    n.appointment.released(1);
    expect(n.leaders()).toEqual(['0@1', 'none:draining', '1@2']);
  });

  it('appoints the next once the dismissed leader exits without confirming', () => {
    const n = node('n1');
    n.set(1, 0, 'ready');
    n.set(2, 1, 'ready');
    n.set(1, 0, 'unresponsive');
    n.set(1, 0, 'exited');
    expect(n.leaders()).toEqual(['0@1', 'none:unresponsive', '1@2']);
  });

  it('dismisses the leader when the node shuts down, and appoints nobody after', async () => {
    const n = node('n1');
    n.set(1, 0, 'ready');
    await n.appointment.close();
    n.set(2, 1, 'ready');
    expect(n.leaders()).toEqual(['0@1', 'none:shutdown']);
  });
});

describe('LeaderAppointment across nodes (a shared lease)', () => {
  it('lets only the node holding the lease appoint; the others show the leader it announced', async () => {
    const store = new MemoryLeaseStore();
    const [a, b] = [node('a', store), node('b', store)];
    for (const n of [a, b]) n.appointment.linkChanged(true);
    a.set(1, 0, 'ready');
    await tick();
    b.set(1, 0, 'ready');
    await tick(5 * DEFAULT_LEASE_TIMING.retryMs);
    expect(a.leaders()).toEqual(['0@1']);
    expect(b.events).toEqual([]);
    b.appointment.remoteChanged(a.appointment.own());
    expect(b.appointment.leader()).toEqual({ node: 'a', slot: 0, pid: 101, epoch: 1 });
  });

  it('leads itself when the store can hold no lease: each node appoints its own leader, and never asks the store again', async () => {
    const store = new MemoryLeaseStore();
    store.unsupported = true;
    const [a, b] = [node('a', store), node('b', store)];
    for (const n of [a, b]) n.appointment.linkChanged(true);
    b.appointment.remoteChanged({ node: 'a', slot: 3, pid: 999, epoch: 7 }); // heard before the store answered
    a.set(1, 0, 'ready');
    b.set(1, 0, 'ready');
    await tick();
    expect(a.leaders()).toEqual(['0@1']);
    expect(b.leaders()).toEqual(['0@8']);
    b.appointment.remoteChanged(a.appointment.own());
    expect(b.appointment.leader()).toEqual({ node: 'b', slot: 0, pid: 101, epoch: 8 });
    const asked = store.acquired;
    await tick(5 * DEFAULT_LEASE_TIMING.retryMs);
    a.set(1, 0, 'exited');
    expect(a.leaders()).toEqual(['0@1', 'none:exited']);
    a.set(2, 1, 'ready');
    expect(a.leaders()).toEqual(['0@1', 'none:exited', '1@2']);
    expect(store.acquired).toBe(asked);
  });

  it('moves the leader inside the holding node with a new epoch from the lease', async () => {
    const store = new MemoryLeaseStore();
    const a = node('a', store);
    a.appointment.linkChanged(true);
    a.set(1, 0, 'ready');
    a.set(2, 1, 'ready');
    await tick();
    a.set(1, 0, 'exited');
    await tick();
    expect(a.leaders()).toEqual(['0@1', 'none:exited', '1@2']);
    expect(store.epoch).toBe(2);
  });

  it('dismisses its leader at once when the link goes down, and nobody leads until it is back', async () => {
    const store = new MemoryLeaseStore();
    const a = node('a', store);
    a.appointment.linkChanged(true);
    a.set(1, 0, 'ready');
    await tick();
    a.appointment.linkChanged(false);
    expect(a.leaders()).toEqual(['0@1', 'none:transport-down']);
    a.appointment.released(1);
    await tick(DEFAULT_LEASE_TIMING.ttlMs);
    expect(a.appointment.leader()).toBeNull();
    a.appointment.linkChanged(true);
    await tick();
    expect(a.leaders()).toEqual(['0@1', 'none:transport-down', '0@2']);
  });

  it('appoints above the epoch another node announced, even from a store that lost its counter', async () => {
    const store = new MemoryLeaseStore();
    const [a, b] = [node('a', store), node('b', store)];
    for (const n of [a, b]) n.appointment.linkChanged(true);
    a.set(1, 0, 'ready');
    a.set(2, 1, 'ready');
    await tick();
    a.set(1, 0, 'exited');
    await tick();
    b.set(1, 0, 'ready');
    b.appointment.remoteChanged(a.appointment.own());
    expect(b.appointment.leader()).toMatchObject({ node: 'a', epoch: 2 });
    // Redis restarts empty, and `a` is gone with it.
    for (const n of [a, b]) n.appointment.linkChanged(false);
    store.hang('a', true);
    store.wipe();
    b.appointment.linkChanged(true);
    await tick(DEFAULT_LEASE_TIMING.retryMs);
    expect(b.leaders()).toEqual(['0@3']);
  });

  it('on shutdown, gives the lease up only once the dismissed leader confirmed it stopped', async () => {
    const store = new MemoryLeaseStore();
    const a = node('a', store);
    a.appointment.linkChanged(true);
    a.set(1, 0, 'ready');
    await tick();
    let closed = false;
    void a.appointment.close().then(() => (closed = true));
    expect(a.leaders()).toEqual(['0@1', 'none:shutdown']);
    // Still at its job (a long one): the lease stays this node's, renewed.
    await tick(2 * DEFAULT_LEASE_TIMING.ttlMs);
    expect([closed, store.heldBy()]).toEqual([false, 'a']);
    a.appointment.released(1);
    await tick();
    expect([closed, store.heldBy()]).toEqual([true, undefined]);
  });

  it('on shutdown, gives the lease up once the dismissed leader exits without confirming', async () => {
    const store = new MemoryLeaseStore();
    const a = node('a', store);
    a.appointment.linkChanged(true);
    a.set(1, 0, 'ready');
    await tick();
    const closed = a.appointment.close();
    a.set(1, 0, 'exited');
    await closed;
    expect(store.heldBy()).toBeUndefined();
  });

  it('keeps the lease while a dismissed leader may still act, even with no worker left that may lead', async () => {
    const store = new MemoryLeaseStore();
    const a = node('a', store);
    a.appointment.linkChanged(true);
    a.set(1, 0, 'ready');
    await tick();
    a.set(1, 0, 'unresponsive');
    await tick(2 * DEFAULT_LEASE_TIMING.ttlMs);
    expect(store.heldBy()).toBe('a');
    a.set(1, 0, 'exited');
    await tick();
    expect(store.heldBy()).toBeUndefined();
    expect(a.leaders()).toEqual(['0@1', 'none:unresponsive']);
  });

  it('ignores what other nodes announce while it holds the lease', async () => {
    const store = new MemoryLeaseStore();
    const a = node('a', store);
    a.appointment.linkChanged(true);
    a.set(1, 0, 'ready');
    await tick();
    a.appointment.remoteChanged({ node: 'b', slot: 0, pid: 9, epoch: 99 });
    expect(a.appointment.leader()).toEqual({ node: 'a', slot: 0, pid: 101, epoch: 1 });
  });
});
