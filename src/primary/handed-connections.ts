/**
 * The connections the primary handed to a worker and still holds, because the worker has not said it
 * took them: node passes a handle to another process without waiting for that process to use it, so a
 * worker killed in between would take the connection with it, and its client would wait for an answer
 * that never comes (nodejs/node#3551). Kept by the worker they went to, under an id the worker answers
 * with (`accepted`), so that a worker's exit gives back exactly the ones it never took.
 */
export class HandedConnections<W, C> {
  private readonly byId = new Map<number, { readonly worker: W; readonly connection: C }>();
  private readonly byWorker = new Map<W, Set<number>>();
  private lastId = 0;

  /** Connections held, all workers together. */
  get size(): number {
    return this.byId.size;
  }

  /** Holds `connection`, handed to `worker`; returns the id the worker answers with. */
  hold(worker: W, connection: C): number {
    const id = ++this.lastId;
    this.byId.set(id, { worker, connection });
    let ids = this.byWorker.get(worker);
    if (!ids) this.byWorker.set(worker, (ids = new Set()));
    ids.add(id);
    return id;
  }

  /**
   * `worker` answered for `id`: the connection is no longer held, and is returned to the caller to
   * close its copy or hand it on. `undefined` when `id` was not handed to that worker (an answer from
   * another worker, or twice): nothing changes.
   */
  settle(worker: W, id: number): C | undefined {
    const entry = this.byId.get(id);
    if (entry?.worker !== worker) return undefined;
    this.byId.delete(id);
    const ids = this.byWorker.get(worker)!;
    ids.delete(id);
    if (ids.size === 0) this.byWorker.delete(worker);
    return entry.connection;
  }

  /** The worker is gone: the connections it never answered for, in the order they were handed, no longer held. */
  release(worker: W): C[] {
    const ids = this.byWorker.get(worker);
    if (!ids) return [];
    this.byWorker.delete(worker);
    const connections: C[] = [];
    for (const id of ids) {
      connections.push(this.byId.get(id)!.connection);
      this.byId.delete(id);
    }
    return connections;
  }

  /** How many connections `worker` has not answered for. */
  heldBy(worker: W): number {
    return this.byWorker.get(worker)?.size ?? 0;
  }

  /** Every connection held, no longer held (the cluster stops). */
  releaseAll(): C[] {
    const connections = [...this.byId.values()].map((e) => e.connection);
    this.byId.clear();
    this.byWorker.clear();
    return connections;
  }
}
