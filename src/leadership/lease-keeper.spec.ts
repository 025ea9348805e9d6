import { useFakeClock } from '../primary/fake-cluster.spec-helper.js';
import { DEFAULT_LEASE_TIMING, LeaseKeeper, type LeaseChange } from './lease-keeper.js';
import { MemoryLeaseStore } from './lease.spec-helper.js';

const tick = useFakeClock(import.meta.jest);
const { ttlMs, renewMs, retryMs } = DEFAULT_LEASE_TIMING;

function node(store: MemoryLeaseStore, token: string) {
  const changes: LeaseChange[] = [];
  const keeper = new LeaseKeeper(store.lease(token), DEFAULT_LEASE_TIMING, (change) => changes.push(change));
  return { keeper, changes };
}

/** A node whose link is up and that wants the lease; after `tick()`, it holds it if it was free. */
function wanting(store: MemoryLeaseStore, token: string) {
  const n = node(store, token);
  n.keeper.link(true);
  n.keeper.want(true);
  return n;
}

describe('LeaseKeeper', () => {
  it('takes a free lease with a new epoch and keeps it renewed', async () => {
    const store = new MemoryLeaseStore();
    const a = wanting(store, 'a');
    await tick();
    expect(a.changes).toEqual([{ held: true, epoch: 1 }]);
    await tick(10 * ttlMs);
    expect(a.keeper.held).toBe(true);
    expect(store.heldBy()).toBe('a');
    expect(a.changes).toHaveLength(1);
  });

  it('does not take the lease before the node wants it, nor while its link is down', async () => {
    const store = new MemoryLeaseStore();
    const a = node(store, 'a');
    a.keeper.want(true);
    await tick(5 * retryMs);
    expect(store.heldBy()).toBeUndefined();
    a.keeper.link(true);
    await tick();
    expect(store.heldBy()).toBe('a');
  });

  it('lets one node of two hold it; the other takes over within retryMs of a release', async () => {
    const store = new MemoryLeaseStore();
    const [a, b] = [node(store, 'a'), node(store, 'b')];
    for (const { keeper } of [a, b]) {
      keeper.link(true);
      keeper.want(true);
    }
    await tick(3 * retryMs);
    expect([a.keeper.held, b.keeper.held]).toEqual([true, false]);
    await a.keeper.stop();
    expect(store.heldBy()).toBeUndefined();
    await tick(retryMs);
    expect(b.changes).toEqual([{ held: true, epoch: 2 }]);
  });

  it('gives the lease up when the node no longer has a worker that may lead', async () => {
    const store = new MemoryLeaseStore();
    const a = wanting(store, 'a');
    await tick();
    a.keeper.want(false);
    await tick();
    expect(store.heldBy()).toBeUndefined();
    expect(a.changes.at(-1)).toEqual({ held: false, reason: 'lease-lost' });
  });

  it('takes over from a holder that died once the lease expires, within ttlMs + retryMs', async () => {
    const store = new MemoryLeaseStore();
    const [a, b] = [node(store, 'a'), node(store, 'b')];
    a.keeper.link(true);
    a.keeper.want(true);
    await tick();
    b.keeper.link(true);
    b.keeper.want(true);
    // `a` dies: nothing of it reaches the store any more.
    store.hang('a', true);
    await tick(ttlMs + retryMs);
    expect(b.keeper.held).toBe(true);
  });

  it('steps down when it cannot renew, before its lease can expire in the store', async () => {
    const store = new MemoryLeaseStore();
    const a = wanting(store, 'a');
    await tick();
    store.hang('a', true); // a partition: no answer at all
    let steppedDownAt: number | undefined;
    for (let waited = 0; waited < ttlMs && steppedDownAt === undefined; waited += 10) {
      await tick(10);
      if (!a.keeper.held) steppedDownAt = Date.now();
    }
    expect(a.changes.at(-1)).toEqual({ held: false, reason: 'lease-lost' });
    // The store still counts the lease as its own: nobody else could have taken it yet.
    expect(steppedDownAt).toBeLessThan(store.expiresAt);
    expect(store.heldBy()).toBe('a');
  });

  it('tries a failed renewal again and keeps the lease if one gets through before the deadline', async () => {
    const store = new MemoryLeaseStore();
    const a = wanting(store, 'a');
    await tick();
    store.reachable('a', false);
    await tick(renewMs + retryMs);
    expect(a.keeper.held).toBe(true);
    store.reachable('a', true);
    await tick(retryMs);
    await tick(3 * ttlMs);
    expect(a.keeper.held).toBe(true);
    expect(a.changes).toHaveLength(1);
  });

  it('steps down at once when its link goes down, and takes the lease again (new epoch) when it is back', async () => {
    const store = new MemoryLeaseStore();
    const a = wanting(store, 'a');
    await tick();
    a.keeper.link(false);
    expect(a.changes.at(-1)).toEqual({ held: false, reason: 'transport-down' });
    a.keeper.link(true);
    await tick();
    expect(a.changes.at(-1)).toEqual({ held: true, epoch: 2 });
  });

  it('steps down when another node holds the lease at renewal time', async () => {
    const store = new MemoryLeaseStore();
    const a = wanting(store, 'a');
    await tick();
    store.holder = 'b'; // say the store lost its data and `b` got in first
    await tick(renewMs);
    expect(a.changes.at(-1)).toEqual({ held: false, reason: 'lease-lost' });
  });

  it('keeps the epoch growing when the store comes back empty (a Redis restarted without its data)', async () => {
    const store = new MemoryLeaseStore();
    const a = wanting(store, 'a');
    await tick();
    await expect(a.keeper.bump()).resolves.toBe(2);
    a.keeper.link(false);
    store.wipe();
    a.keeper.link(true);
    await tick();
    expect(a.changes.at(-1)).toEqual({ held: true, epoch: 3 });
  });

  it('takes its next epoch above the ones other nodes announced', async () => {
    const store = new MemoryLeaseStore();
    const b = node(store, 'b');
    b.keeper.seen(7); // another node led with epoch 7; then the store lost everything
    b.keeper.seen(4);
    b.keeper.link(true);
    b.keeper.want(true);
    await tick();
    expect(b.changes).toEqual([{ held: true, epoch: 8 }]);
  });

  it('bumps the epoch only while holding the lease', async () => {
    const store = new MemoryLeaseStore();
    const a = wanting(store, 'a');
    await tick();
    await expect(a.keeper.bump()).resolves.toBe(2);
    store.holder = 'b';
    await expect(a.keeper.bump()).resolves.toBeNull();
    expect(a.keeper.held).toBe(false);
  });
});
