import type { Logger } from '@nestjs/common';
import type { Cluster } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { resolveClusterOptions } from '../cluster-options.js';
import { WORKER_SLOT_ENV } from '../cluster.constants.js';
import type { ClusterBootstrapOptions, ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import type { ClusterEvent } from '../interfaces/cluster-event.interface.js';
import type { ClusterEnvelope } from '../messaging/envelope.js';
import { controlEnvelope, unpack, type LifecycleData } from '../channel/channel-protocol.js';
import { Supervisor } from './supervisor.js';

/** How a fake worker behaves unless a test drives it by hand. `undefined` delays mean "never". */
export interface FakeBehaviour {
  /** From fork to `hello` + `ready`. */
  bootMs?: number;
  /** A standby listens ahead (on ports the primary owns): promoted, it serves without saying `ready`. */
  standbyListens?: boolean;
  /** From a `shutdown` to its exit (code 0). */
  drainMs?: number;
  /** A heartbeat this often while it runs (the worker's own timer). */
  heartbeatMs?: number;
  /** From fork to an exit on its own with `exitCode` (a crash, a failed boot). */
  exitAfterMs?: number;
  exitCode?: number;
}

/**
 * A forked worker as the primary sees it: an emitter of `message`, `exit`... that records what the
 * primary sent and the signals it got. Exits come as events, like node:cluster's; a signal ends it
 * on the next tick (it ignores none).
 */
export class FakeWorker extends EventEmitter {
  readonly process: { readonly pid: number; kill: (signal?: NodeJS.Signals) => boolean };
  /** Every envelope the primary wrote to it, batches unpacked, in order. */
  readonly received: ClusterEnvelope[] = [];
  readonly signals: NodeJS.Signals[] = [];
  connected = true;
  alive = true;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    pid: number,
    /** -1 for a warm standby, until it is promoted. */
    public slot: number,
    private readonly behaviour: FakeBehaviour,
    /** What the primary wrote to any worker, in order. */
    private readonly log: ClusterEnvelope[],
  ) {
    super();
    this.process = {
      pid,
      kill: (signal = 'SIGTERM') => {
        this.signals.push(signal);
        if (this.alive) process.nextTick(() => this.exit(null, signal));
        return true;
      },
    };
    if (behaviour.bootMs !== undefined) setTimeout(() => this.boot(), behaviour.bootMs);
    if (behaviour.exitAfterMs !== undefined) setTimeout(() => this.exit(behaviour.exitCode ?? 1), behaviour.exitAfterMs);
  }

  /** The worker's transport listens, then its app is ready (a standby's waits for its slot). */
  boot(): void {
    this.hello();
    if (this.slot === -1) this.write(controlEnvelope.standby(this.behaviour.standbyListens ?? false));
    else this.ready();
  }

  hello(): void {
    this.write(controlEnvelope.hello());
    if (this.behaviour.heartbeatMs !== undefined) {
      this.heartbeat = setInterval(() => this.write(controlEnvelope.heartbeat()), this.behaviour.heartbeatMs);
    }
  }

  ready(): void {
    this.write(controlEnvelope.ready());
  }

  /** Its event loop stops: no more heartbeats. */
  hang(): void {
    clearInterval(this.heartbeat);
  }

  /** Writes an envelope to the primary, as the worker's transport would. */
  write(message: ClusterEnvelope): void {
    if (this.alive && this.connected) this.emit('message', message);
  }

  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    if (!this.alive) return;
    this.alive = false;
    this.connected = false;
    clearInterval(this.heartbeat);
    this.emit('exit', code, signal);
  }

  send(message: ClusterEnvelope, _handle?: unknown, callback?: (error: Error | null) => void): boolean {
    // As the worker reads it: messages come as rows, read back as envelopes.
    const items: ClusterEnvelope[] = [];
    unpack(
      message,
      (item) => items.push(item as unknown as ClusterEnvelope),
      (reason) => {
        throw new Error(`the primary wrote something malformed: ${reason}`);
      },
    );
    for (const item of items) {
      this.received.push(item);
      this.log.push(item);
      if (item.kind === 'shutdown' && this.behaviour.drainMs !== undefined) {
        setTimeout(() => this.exit(0), this.behaviour.drainMs);
      }
      // A standby takes its slot: it listens at once (or did already).
      if (item.kind === 'promote') {
        this.slot = item.data as number;
        if (!this.behaviour.standbyListens) process.nextTick(() => this.ready());
      }
    }
    callback?.(null);
    return true;
  }

  isConnected(): boolean {
    return this.connected;
  }

  disconnect(): void {
    this.connected = false;
  }

  /** The `shutdown` envelopes it got: `handOff` tells a replacement from a cluster shutdown. */
  shutdowns(): Array<{ handOff: boolean }> {
    return this.received.filter((m) => m.kind === 'shutdown').map((m) => m.data as { handOff: boolean });
  }
}

/**
 * node:cluster for a Supervisor under test: `fork` makes a FakeWorker with the current behaviour,
 * and every fork is kept, in order.
 */
export class FakeCluster extends EventEmitter {
  readonly forks: FakeWorker[] = [];
  private readonly log: ClusterEnvelope[] = [];
  behaviour: FakeBehaviour = { bootMs: 50, drainMs: 20 };
  private nextId = 1;

  setupPrimary(): void {}

  fork(env: Record<string, string>): FakeWorker {
    const id = this.nextId++;
    const worker = new FakeWorker(id, 10_000 + id, Number(env[WORKER_SLOT_ENV]), { ...this.behaviour }, this.log);
    this.forks.push(worker);
    return worker;
  }

  asCluster(): Cluster {
    return this as unknown as Cluster;
  }

  /** The live workers of a slot, oldest first. */
  alive(slot?: number): FakeWorker[] {
    return this.forks.filter((w) => w.alive && (slot === undefined || w.slot === slot));
  }

  /**
   * Every lifecycle event the primary broadcast, once each (one broadcast reaches every listening
   * worker as the same object), in order.
   */
  events(): ClusterEvent[] {
    const seen = new Set<ClusterEvent>();
    for (const message of this.log) {
      const event = message.kind === 'lifecycle' ? (message.data as LifecycleData).event : undefined;
      if (event) seen.add(event);
    }
    return [...seen];
  }

  eventsOf<T extends ClusterEvent['type']>(type: T): Array<Extract<ClusterEvent, { type: T }>> {
    return this.events().filter((e): e is Extract<ClusterEvent, { type: T }> => e.type === type);
  }
}

/** The process events a Supervisor listens to; tests remove what one left behind. */
const PROCESS_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'exit', 'uncaughtException'] as const;

/** Records the process listeners present now; the returned function removes any added since. */
export function guardProcessListeners(): () => void {
  const emitter: EventEmitter = process;
  const before = new Map(PROCESS_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
  return () => {
    for (const event of PROCESS_EVENTS) {
      for (const listener of emitter.listeners(event)) {
        if (!before.get(event)!.has(listener)) emitter.off(event, listener as (...args: unknown[]) => void);
      }
    }
  };
}

/** Jest's fake-timer controls, as `import.meta.jest` gives them on native ESM. */
interface JestClock {
  useFakeTimers(config: { now: number; doNotFake: Array<'nextTick' | 'queueMicrotask' | 'setImmediate'> }): unknown;
  useRealTimers(): unknown;
  clearAllTimers(): void;
  advanceTimersByTimeAsync(ms: number): Promise<unknown>;
}

/**
 * Gives every test of the file a fake clock and a clean set of process listeners, and returns `tick`:
 * it moves the clock, running the timers due and the promise callbacks they lead to.
 */
export function useFakeClock(jest: JestClock): (ms?: number) => Promise<void> {
  let restoreListeners: () => void;
  beforeEach(() => {
    restoreListeners = guardProcessListeners();
    // The primary's IPC writes go out on a microtask: only the clock and its timers are fake.
    jest.useFakeTimers({ now: 1_000_000, doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
  });
  afterEach(() => {
    jest.clearAllTimers();
    jest.useRealTimers();
    restoreListeners();
  });
  return async (ms = 0) => {
    await jest.advanceTimersByTimeAsync(ms);
    await new Promise((resolve) => setImmediate(resolve));
  };
}

/** Options as a user would give them, resolved the library's way; no environment, 2 CPUs. */
export function resolvedOptions(options: ClusterBootstrapOptions = {}): ResolvedClusterOptions {
  return resolveClusterOptions({ workers: 2, unresponsiveMs: 0, ...options }, {}, () => 2);
}

/** A logger that says nothing: the tests look at what the primary does, not at its words. */
export const silentLogger = { log: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;

export interface StartedSupervisor {
  readonly cluster: FakeCluster;
  readonly supervisor: Supervisor;
  /** The primary's exit code once `start()` resolved. */
  exitCode(): number | undefined;
}

/** A Supervisor started on a FakeCluster; `rssMb` feeds the memory guard by pid. */
export function startSupervisor(
  options: ClusterBootstrapOptions = {},
  { behaviour, rssMb = () => undefined }: { behaviour?: FakeBehaviour; rssMb?: (pid: number) => number | undefined } = {},
): StartedSupervisor {
  const cluster = new FakeCluster();
  if (behaviour) cluster.behaviour = behaviour;
  const supervisor = new Supervisor(resolvedOptions(options), cluster.asCluster(), { logger: silentLogger, measureMemory: rssMb });
  let code: number | undefined;
  void supervisor.start().then((c) => (code = c));
  return { cluster, supervisor, exitCode: () => code };
}
