import type { Logger } from '@nestjs/common';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import type { ClusterEvent } from '../interfaces/cluster-event.interface.js';
import { RestartQueue, type RestartRun } from './restart-queue.js';
import type { Member, Slot, SlotTable } from './slot-table.js';
import type { WorkerProcess } from './worker-process.js';

/** What replacing workers needs of the Supervisor. */
export interface ReplacementHost {
  readonly table: SlotTable;
  /** The cluster is shutting down: nothing more is replaced. */
  closing(): boolean;
  /** Forks a worker into `slot`; `asReplacement`: it boots beside the current one. */
  fork(slot: Slot, asReplacement: boolean): Member;
  /** A replacement failed and the slot is empty: count the exit and restart the slot after its backoff. */
  restartLater(slot: Slot, exited: WorkerProcess, fork: boolean): void;
  /** Out of the routing: requests it was answering fail now. */
  unavailable(member: Member, reason: string): void;
  /** Who may lead changed. */
  leadershipMayChange(): void;
  emit(event: ClusterEvent): void;
}

/**
 * Replacing workers without dropping traffic, the new one always ready before the old one drains:
 * rolling restarts (SIGHUP, `ClusterService.requestRollingRestart`), the memory guard's replacements
 * and unresponsive workers.
 */
export class RollingReplacement {
  /** Rolling restarts started, done and aborted, for `state()`. */
  readonly rolls = { started: 0, done: 0, aborted: 0 };
  private readonly restarts = new RestartQueue((run) => this.roll(run));

  constructor(
    private readonly host: ReplacementHost,
    private readonly options: ResolvedClusterOptions,
    private readonly logger: Logger,
  ) {}

  /** Restarts asked for and not yet begun are forgotten (the cluster shuts down). */
  clear(): void {
    this.restarts.clear();
  }

  /**
   * Zero-downtime rolling restart: one slot at a time, fork the replacement, wait until it is ready,
   * then drain the old worker. A replacement that is not ready within `readyTimeoutMs` aborts the
   * restart and the old workers keep serving. Every slot asked for (all by default) gets a worker
   * forked after the request: a request joins a running restart only if that one has yet to reach
   * every slot it asks for, and otherwise runs after it. Resolves once those slots are done.
   */
  restart(reason: string, only?: readonly number[]): Promise<void> {
    if (this.host.closing()) return Promise.resolve();
    const slots = (only ?? this.host.table.slots.map((s) => s.slot)).filter((slot) => this.host.table.slot(slot) !== undefined);
    if (this.restarts.active) {
      const covered = slots.every((slot) => this.restarts.covers(slot));
      this.logger.log(`rolling restart already running; ${reason} ${covered ? 'is covered by the restarts asked for' : 'runs after it'}`);
    }
    return this.restarts.request(reason, slots);
  }

  private async roll(run: RestartRun): Promise<void> {
    const { reason, slots } = run;
    this.logger.log(`rolling restart (${reason}): ${slots.length} slot(s), one at a time`);
    this.rolls.started += 1;
    this.host.emit({ type: 'rolling-restart', node: this.options.nodeId, phase: 'start', reason, at: Date.now() });
    while (run.next < slots.length) {
      const slot = this.host.table.slot(slots[run.next++]!);
      // A slot taken out by a scale-down meanwhile has nothing to replace; one waiting for its restart gets a fresh worker anyway.
      if (!slot?.current || slot.current.process.state !== 'ready') continue;
      if (this.host.closing()) return;
      const failure = await this.replace(slot);
      if (this.host.closing()) return;
      if (failure) {
        this.logger.error(`rolling restart aborted at worker ${slot.slot}: ${failure}; the old workers keep serving`);
        this.rolls.aborted += 1;
        this.host.emit({ type: 'rolling-restart', node: this.options.nodeId, phase: 'aborted', slot: slot.slot, reason: failure, at: Date.now() });
        return;
      }
      this.host.emit({ type: 'rolling-restart', node: this.options.nodeId, phase: 'step', slot: slot.slot, reason, at: Date.now() });
    }
    this.logger.log(`rolling restart (${reason}) done`);
    this.rolls.done += 1;
    this.host.emit({ type: 'rolling-restart', node: this.options.nodeId, phase: 'done', reason, at: Date.now() });
  }

  /** Replaces a slot's worker, new one first. Resolves with why it failed, or `undefined`. */
  private async replace(slot: Slot): Promise<string | undefined> {
    const old = slot.current;
    const next = this.host.fork(slot, true);
    if (!(await next.process.started)) {
      slot.replacement = undefined;
      if (!slot.current) this.host.restartLater(slot, next.process, true); // the old one died meanwhile too
      return next.process.stopReason === 'ready-timeout'
        ? `replacement not ready within ${this.options.readyTimeoutMs} ms (readyTimeoutMs)`
        : 'replacement exited before it was ready';
    }
    slot.replacement = undefined;
    slot.current = next;
    if (old && old.process.stop('replaced')) {
      this.logger.log(`worker ${slot.slot} (pid ${old.identity.pid}) replaced by pid ${next.identity.pid}; draining the old one`);
      this.host.leadershipMayChange();
      // Its replacement is ready: it can take over the open connections the old one hands off.
      old.channel.shutdown(true);
      const killTimer = setTimeout(() => {
        this.logger.error(`worker ${slot.slot} (pid ${old.identity.pid}) still draining after ${this.options.shutdown.timeoutMs} ms; killing it`);
        old.process.worker.process.kill('SIGKILL');
      }, this.options.shutdown.timeoutMs);
      await old.process.exited;
      clearTimeout(killTimer);
    }
    return undefined;
  }

  /**
   * A ready worker stopped answering: out of the routing at once, replaced the rolling way, and
   * SIGKILLed once the replacement is ready (a hung process cannot drain).
   */
  async unresponsive(member: Member, silentMs: number): Promise<void> {
    if (this.host.closing() || !member.process.unresponsive()) return;
    const { slot: index, pid } = member.identity;
    const slot = this.host.table.slotOf(member);
    this.logger.error(
      `worker ${index} (pid ${pid}) unresponsive: nothing heard from it for ${silentMs} ms (unresponsiveMs ${this.options.unresponsiveMs}); replacing it, then killing it`,
    );
    this.host.unavailable(member, `slot ${index} (pid ${pid}) is unresponsive`);
    this.host.leadershipMayChange();
    // node:cluster's round robin would keep handing it connections that nobody answers.
    member.process.worker.disconnect();
    this.host.emit({ type: 'unresponsive', ...member.identity, silentMs, at: Date.now() });
    // A slot a scale-down took out gets no replacement: the worker is only killed.
    if (slot.current === member && !slot.replacement && this.host.table.slot(index) === slot) {
      const next = this.host.fork(slot, true);
      const ready = await next.process.started;
      if (slot.replacement === next) slot.replacement = undefined;
      if (ready) slot.current = next;
    }
    member.process.worker.process.kill('SIGKILL');
  }

  overMemoryLimit(slot: number, rssMb: number): void {
    // Already being replaced, or about to be by a restart asked for earlier.
    if (this.host.closing() || this.host.table.slot(slot)?.replacement || this.restarts.covers(slot)) return;
    this.logger.warn(`worker ${slot} uses ${rssMb.toFixed(0)} MB, above restart.maxMemoryMb (${this.options.restart.maxMemoryMb}); replacing it`);
    void this.restart(`memory of worker ${slot}`, [slot]);
  }
}
