import { Logger } from '@nestjs/common';
import type { Cluster } from 'node:cluster';
import { EXIT_CODES, WORKER_SLOT_ENV } from '../cluster.constants.js';
import { CLUSTER_ENV } from '../cluster-options.js';
import { describeError } from '../common/describe-error.js';
import { ShutdownSequence, TERMINAL_SIGNALS } from '../common/shutdown-sequence.js';
import { ThrottledReport } from '../common/throttled-report.js';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import type { ClusterEvent, DropReason, LeaderEvent, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { ClusterState, WorkerInfo } from '../interfaces/worker-info.interface.js';
import { LeaderAppointment } from '../leadership/leader-appointment.js';
import { controlEnvelope, type ReadyNotes } from '../transports/ipc/ipc-protocol.js';
import { IpcRouter } from '../transports/ipc/ipc-router.js';
import type { NodeLink } from '../transports/node-link.interface.js';
import { NO_DROPS } from '../transports/membership-view.js';
import { LivenessMonitor } from './liveness-monitor.js';
import { MemoryGuard, residentMemoryMb } from './memory-guard.js';
import { guardPrimaryEventHook } from './primary-event-hook.js';
import { RestartQueue, type RestartRun } from './restart-queue.js';
import { backoffDelay, CrashWindow } from './restart-policy.js';
import { StickyListener } from './sticky-listener.js';
import { WorkerProcess } from './worker-process.js';

/** A flood of drops makes one warning (and one event) per worker and reason this often, with the count. */
const DROP_REPORT_EVERY_MS = 5_000;

interface Drop {
  readonly worker: WorkerIdentity;
  readonly reason: DropReason;
  readonly detail: string;
}

/** A stable position 0..N-1 that outlives the processes filling it. */
interface SlotState {
  readonly slot: number;
  /** The worker serving this slot (requests addressed to the slot go to it). */
  current?: WorkerProcess;
  /** A worker booting to take over from `current` (rolling restart, memory guard). */
  replacement?: WorkerProcess;
  /** Replacements forked after unexpected exits. */
  restarts: number;
  /** Unexpected exits in a row, for the backoff; reset once a worker stays up `resetAfterMs`. */
  failures: number;
  restartTimer?: NodeJS.Timeout;
}

/**
 * The primary process: forks one worker per slot, restarts crashed ones with backoff, stops the
 * cluster on a crash loop, replaces workers one at a time without dropping traffic (rolling restart,
 * memory guard), drains the cluster on SIGTERM/SIGINT, and relays every lifecycle event to all
 * workers. It never creates the Nest app and never touches a request.
 */
/** What the Supervisor works with besides node:cluster; each has a default but the link. */
export interface SupervisorDeps {
  readonly logger?: Logger;
  /** Resident memory of a worker in MB, for the memory guard. */
  readonly measureMemory?: (pid: number) => number | undefined;
  /** The other nodes of the cluster (Redis), if any. */
  readonly link?: NodeLink;
}

export class Supervisor {
  private readonly logger: Logger;
  /** The user's `onPrimaryEvent`, guarded: it cannot throw. */
  private readonly notify: (event: ClusterEvent) => void;
  private readonly link: NodeLink | undefined;
  private readonly slots: SlotState[];
  private readonly records = new Map<number, WorkerProcess>();
  private readonly crashes: CrashWindow;
  private readonly router: IpcRouter;
  private readonly memoryGuard: MemoryGuard | undefined;
  private readonly liveness: LivenessMonitor<WorkerProcess> | undefined;
  private readonly dropped: Record<DropReason, number> = { ...NO_DROPS };
  private readonly drops: ThrottledReport<Drop>;
  private readonly stopping: ShutdownSequence;
  private crashLoopReached = false;
  private readonly rolls = { started: 0, done: 0, aborted: 0 };
  private exitCode: number = EXIT_CODES.clean;
  private clusterReady = false;
  private warnedEveryWorkerJobs = false;
  private linkClosed: Promise<void> | undefined;
  private readonly restarts = new RestartQueue((run) => this.roll(run));
  private readonly leadership: LeaderAppointment;
  /** Owns the port in sticky mode, and hands each connection to a worker. */
  private readonly sticky: StickyListener | undefined;
  private finish!: (code: number) => void;
  private readonly finished = new Promise<number>((resolve) => (this.finish = resolve));
  /** Last resort against orphans: whatever way this process exits, its workers go with it. */
  private readonly killOnExit = (): void => {
    for (const { worker } of this.records.values()) worker.process.kill('SIGKILL');
  };
  /** Whatever throws in this process (a bug here, or the application's own code in the primary). */
  private readonly onUncaught = (error: unknown): void => {
    this.logger.error(`unexpected error in the primary, draining the cluster (exit code ${EXIT_CODES.primaryError}): ${describeError(error)}`);
    this.exitCode = Math.max(this.exitCode, EXIT_CODES.primaryError);
    this.shutdown('primary-error');
  };

  constructor(
    private readonly options: ResolvedClusterOptions,
    private readonly cluster: Cluster,
    { logger = new Logger('ClusterPrimary'), measureMemory = residentMemoryMb, link }: SupervisorDeps = {},
  ) {
    this.logger = logger;
    this.notify = guardPrimaryEventHook(options.onPrimaryEvent, logger);
    this.link = link;
    this.slots = Array.from({ length: options.workers }, (_, slot) => ({ slot, restarts: 0, failures: 0 }));
    const { timeoutMs } = options.shutdown;
    this.stopping = new ShutdownSequence({ timeoutMs, onTimeout: () => this.forceKill(`drain took longer than ${timeoutMs} ms`) });
    this.crashes = new CrashWindow(options.restart);
    this.router = new IpcRouter(
      { serialization: options.serialization, node: options.nodeId, ...options.messaging },
      {
        currentOfSlot: (slot) => this.slots[slot]?.current?.identity.id,
        hello: (id) => this.withRecord(id, (record) => this.onHello(record)),
        ready: (id, notes) => this.withRecord(id, (record) => this.onReady(record, notes)),
        restart: (id) => this.withRecord(id, (record) => void this.restartWorkers(`requested by worker ${record.identity.slot}`)),
        released: (id) => this.leadership.released(id),
        dropped: (worker, reason, detail) => this.onDropped({ worker, reason, detail }),
        congestion: (id, congested) => this.withRecord(id, (record) => this.onCongestion(record, congested)),
        failed: (error) => this.logger.error(`a message from a worker could not be handled; it was dropped: ${describeError(error)}`),
      },
      link,
    );
    this.leadership = new LeaderAppointment(
      options.nodeId,
      {
        candidates: () => this.slots.flatMap((s) => [s.current, s.replacement].filter((r) => r?.state === 'ready').map((r) => r!.identity)),
        standing: (id) => this.records.get(id)?.state ?? 'exited',
        changed: (event) => this.onLeaderChange(event),
      },
      link?.lease && { lease: link.lease, timing: options.leadership },
    );
    if (options.sticky) {
      this.sticky = new StickyListener(
        options.sticky,
        { port: options.port, host: options.host },
        {
          // A worker draining, unresponsive or exited is handed nothing: its slot's replacement, or another, is.
          ready: () => this.slots.flatMap((s) => (s.current?.state === 'ready' ? [{ id: s.current.identity.id, slot: s.slot }] : [])),
          // The port the connection arrived on: the one the listener got, when `port` is 0.
          hand: (id, connection, head) => this.router.handConnection(id, connection.localPort!, connection, head),
        },
        logger,
      );
    }
    this.drops = new ThrottledReport(DROP_REPORT_EVERY_MS, (count, drop) => this.reportDrops(count, drop));
    if (options.unresponsiveMs > 0) {
      this.liveness = new LivenessMonitor(
        options.unresponsiveMs,
        () => [...this.records.values()].filter((r) => r.state === 'ready'),
        (record, silentMs) => void this.onUnresponsive(record, silentMs),
      );
    }
    const { maxMemoryMb, memoryCheckIntervalMs } = options.restart;
    if (maxMemoryMb > 0) {
      this.memoryGuard = new MemoryGuard(
        maxMemoryMb,
        memoryCheckIntervalMs,
        () => this.slots.flatMap((s) => (s.current?.state === 'ready' ? [s.current.identity] : [])),
        (slot, rssMb) => this.onMemoryOverLimit(slot, rssMb),
        measureMemory,
      );
    }
  }

  /** Forks the workers; resolves with the primary's exit code once the cluster has stopped. */
  start(): Promise<number> {
    for (const signal of TERMINAL_SIGNALS) this.stopping.listen(signal, () => this.shutdown(signal));
    this.stopping.listen('SIGHUP', () => void this.restartWorkers('SIGHUP'));
    this.stopping.listen('exit', this.killOnExit);
    this.stopping.listen('uncaughtException', this.onUncaught);
    this.cluster.setupPrimary({ serialization: this.options.serialization });
    for (const slot of this.slots) this.fork(slot);
    this.link?.start({
      workers: () => this.localWorkers(),
      topics: () => this.router.topics(),
      leader: () => this.leadership.own(),
      message: (node, message) => this.router.receiveFromNode(node, message),
      changed: (event) => this.onNodesChange(event),
      gone: (node) => this.router.nodeGone(node, `node ${node} left the cluster or cannot be reached`),
    });
    this.memoryGuard?.start();
    this.liveness?.start();
    return this.finished;
  }

  /** Live workers of this node, then of the other nodes (each ordered by slot, then age). */
  snapshot(): WorkerInfo[] {
    const local = this.localWorkers();
    return this.link ? [...local, ...this.link.workers()] : local;
  }

  /** This node's live workers, ordered by slot then age (a slot shows two during a replacement). */
  private localWorkers(): WorkerInfo[] {
    return [...this.records.values()]
      .sort((a, b) => a.identity.slot - b.identity.slot || a.identity.id - b.identity.id)
      .map((r) => r.info(this.slots[r.identity.slot]!.restarts, this.router.isCongested(r.identity.id)));
  }

  state(): ClusterState {
    const transport = this.link ? (this.link.up ? 'up' : 'down') : 'none';
    const leader = this.leadership.leader();
    return {
      expectedWorkers: this.slots.length,
      crashLoop: this.crashLoopReached,
      dropped: { ...this.dropped },
      transport,
      leader,
      rollingRestarts: { ...this.rolls },
    };
  }

  /**
   * Zero-downtime rolling restart: one slot at a time, fork the replacement, wait until it is ready,
   * then drain the old worker. A replacement that is not ready within `readyTimeoutMs` aborts the
   * restart and the old workers keep serving. Every slot asked for (all by default) gets a worker
   * forked after the request: a request joins a running restart only if that one has yet to reach
   * every slot it asks for, and otherwise runs after it. Resolves once those slots are done.
   */
  restartWorkers(reason: string, only?: readonly number[]): Promise<void> {
    if (this.closing) return Promise.resolve();
    const slots = (only ?? this.slots.map((s) => s.slot)).filter((slot) => this.slots[slot] !== undefined);
    if (this.restarts.active) {
      const covered = slots.every((slot) => this.restarts.covers(slot));
      this.logger.log(`rolling restart already running; ${reason} ${covered ? 'is covered by the restarts asked for' : 'runs after it'}`);
    }
    return this.restarts.request(reason, slots);
  }

  /**
   * Graceful shutdown: stop restarting, ask every worker to drain, SIGKILL what is left after
   * `shutdown.timeoutMs`. A second call (second signal) kills at once.
   */
  shutdown(reason: string): void {
    // Arms the drain deadline first, so nothing below can leave the cluster hanging.
    const step = this.stopping.begin(reason);
    if (step === 'force') this.forceKill(`${reason} again`);
    if (step !== 'started') return;
    this.memoryGuard?.stop();
    this.liveness?.stop();
    this.sticky?.close();
    this.restarts.clear();
    for (const slot of this.slots) clearTimeout(slot.restartTimer);
    this.logger.log(`shutting down (${reason}): draining ${this.records.size} worker(s)`);
    for (const record of this.records.values()) record.stop('shutdown');
    this.emit({ type: 'shutdown', node: this.options.nodeId, reason, at: Date.now() });
    // The lease goes first, as soon as the leader here has let go, so another node leads at once; then
    // the other nodes forget this one now, rather than once it has been silent long enough.
    const released = this.leadership.close();
    this.linkClosed = this.link && released.then(() => this.link!.close());
    for (const record of this.records.values()) this.router.sendTo(record.worker.id, controlEnvelope.shutdown(false));
    this.finishIfDone();
  }

  private async roll(run: RestartRun): Promise<void> {
    const { reason, slots } = run;
    this.logger.log(`rolling restart (${reason}): ${slots.length} slot(s), one at a time`);
    this.rolls.started += 1;
    this.emit({ type: 'rolling-restart', node: this.options.nodeId, phase: 'start', reason, at: Date.now() });
    while (run.next < slots.length) {
      const slot = this.slots[slots[run.next++]!]!;
      // A slot waiting for its restart gets a fresh worker anyway.
      if (!slot.current || slot.current.state !== 'ready') continue;
      if (this.closing) return;
      const failure = await this.replace(slot);
      if (this.closing) return;
      if (failure) {
        this.logger.error(`rolling restart aborted at worker ${slot.slot}: ${failure}; the old workers keep serving`);
        this.rolls.aborted += 1;
        this.emit({ type: 'rolling-restart', node: this.options.nodeId, phase: 'aborted', slot: slot.slot, reason: failure, at: Date.now() });
        return;
      }
      this.emit({ type: 'rolling-restart', node: this.options.nodeId, phase: 'step', slot: slot.slot, reason, at: Date.now() });
    }
    this.logger.log(`rolling restart (${reason}) done`);
    this.rolls.done += 1;
    this.emit({ type: 'rolling-restart', node: this.options.nodeId, phase: 'done', reason, at: Date.now() });
  }

  /** Replaces a slot's worker, new one first. Resolves with why it failed, or `undefined`. */
  private async replace(slot: SlotState): Promise<string | undefined> {
    const old = slot.current;
    const next = this.fork(slot, { replacement: true });
    if (!(await next.started)) {
      slot.replacement = undefined;
      if (!slot.current) this.scheduleRestart(slot, next, true); // the old one died meanwhile too
      return next.stopReason === 'ready-timeout'
        ? `replacement not ready within ${this.options.readyTimeoutMs} ms (readyTimeoutMs)`
        : 'replacement exited before it was ready';
    }
    slot.replacement = undefined;
    slot.current = next;
    if (old && old.stop('replaced')) {
      this.logger.log(`worker ${slot.slot} (pid ${old.identity.pid}) replaced by pid ${next.identity.pid}; draining the old one`);
      this.leadership.update();
      // Its replacement is ready: it can take over the open connections the old one hands off.
      this.router.sendTo(old.worker.id, controlEnvelope.shutdown(true));
      const killTimer = setTimeout(() => {
        this.logger.error(`worker ${slot.slot} (pid ${old.identity.pid}) still draining after ${this.options.shutdown.timeoutMs} ms; killing it`);
        old.worker.process.kill('SIGKILL');
      }, this.options.shutdown.timeoutMs);
      await old.exited;
      clearTimeout(killTimer);
    }
    return undefined;
  }

  /**
   * A ready worker stopped answering: out of the routing at once, replaced the rolling way, and
   * SIGKILLed once the replacement is ready (a hung process cannot drain).
   */
  private async onUnresponsive(record: WorkerProcess, silentMs: number): Promise<void> {
    if (this.closing || !record.unresponsive()) return;
    const { slot: index, pid } = record.identity;
    const slot = this.slots[index]!;
    this.logger.error(
      `worker ${index} (pid ${pid}) unresponsive: nothing heard from it for ${silentMs} ms (unresponsiveMs ${this.options.unresponsiveMs}); replacing it, then killing it`,
    );
    this.router.setUnavailable(record.worker.id, `slot ${index} (pid ${pid}) is unresponsive`);
    this.leadership.update();
    // node:cluster's round robin would keep handing it connections that nobody answers.
    record.worker.disconnect();
    this.emit({ type: 'unresponsive', ...record.identity, silentMs, at: Date.now() });
    if (slot.current === record && !slot.replacement) {
      const next = this.fork(slot, { replacement: true });
      const ready = await next.started;
      if (slot.replacement === next) slot.replacement = undefined;
      if (ready) slot.current = next;
    }
    record.worker.process.kill('SIGKILL');
  }

  private onMemoryOverLimit(slot: number, rssMb: number): void {
    // Already being replaced, or about to be by a restart asked for earlier.
    if (this.closing || this.slots[slot]?.replacement || this.restarts.covers(slot)) return;
    this.logger.warn(`worker ${slot} uses ${rssMb.toFixed(0)} MB, above restart.maxMemoryMb (${this.options.restart.maxMemoryMb}); replacing it`);
    void this.restartWorkers(`memory of worker ${slot}`, [slot]);
  }

  private fork(slot: SlotState, { replacement = false } = {}): WorkerProcess {
    // The node's name goes with the slot: every worker of this node speaks as the same node.
    const worker = this.cluster.fork({ [WORKER_SLOT_ENV]: String(slot.slot), [CLUSTER_ENV.nodeId]: this.options.nodeId });
    const identity: WorkerIdentity = { node: this.options.nodeId, id: worker.id, slot: slot.slot, pid: worker.process.pid ?? 0 };
    const record = new WorkerProcess(worker, identity);
    record.readyTimer = setTimeout(() => this.onReadyTimeout(record), this.options.readyTimeoutMs);
    if (replacement) slot.replacement = record;
    else slot.current = record;
    this.records.set(worker.id, record);
    this.router.add(worker, identity);

    worker.on('online', () => this.emit({ type: 'online', ...identity, at: Date.now() }));
    worker.on('listening', (address) =>
      this.emit({
        type: 'listening',
        ...identity,
        address: address.address ?? null,
        port: address.port ?? null,
        at: Date.now(),
      }),
    );
    worker.on('disconnect', () => this.emit({ type: 'disconnect', ...identity, at: Date.now() }));
    worker.on('message', (message: unknown, handle?: unknown) => this.onWorkerMessage(record, message, handle));
    worker.on('exit', (code: number | null, signal: string | null) => this.onExit(record, code, signal));
    // A send racing the worker's exit fails with EPIPE / channel closed; the exit event tells the story.
    worker.on('error', () => undefined);

    this.logger.log(`worker ${slot.slot} forked (id ${identity.id}, pid ${identity.pid})${replacement ? ' as a replacement' : ''}`);
    this.emit({ type: 'fork', ...identity, at: Date.now() });
    return record;
  }

  private onWorkerMessage(record: WorkerProcess, message: unknown, handle?: unknown): void {
    // Anything it writes, even the application's own IPC, proves its event loop turns.
    record.lastSeen = Date.now();
    this.router.receive(record.worker.id, message, handle);
  }

  /** The router speaks of workers by id; one that has just exited is no longer anybody's business. */
  private withRecord(id: number, act: (record: WorkerProcess) => void): void {
    const record = this.records.get(id);
    if (record) act(record);
  }

  private onHello(record: WorkerProcess): void {
    const { id } = record.identity;
    this.router.sendTo(id, controlEnvelope.lifecycle({ workers: this.snapshot(), state: this.state() }));
    // A shutdown sent before the worker listened was lost: repeat it.
    if (this.closing || record.stopReason === 'shutdown' || record.stopReason === 'replaced') {
      this.router.sendTo(id, controlEnvelope.shutdown(!this.closing && record.stopReason === 'replaced'));
    }
  }

  private onDropped(drop: Drop): void {
    this.dropped[drop.reason] += 1;
    this.drops.note(`${drop.worker.id}:${drop.reason}`, drop);
  }

  private reportDrops(count: number, { worker, reason, detail }: Drop): void {
    const who = `worker ${worker.slot} (pid ${worker.pid})`;
    const what =
      reason === 'queue-full'
        ? `dropped ${count} message(s) to ${who}: its queue is full (messaging.maxQueueBytes ${this.options.messaging.maxQueueBytes}); first: ${detail}`
        : reason === 'unexpected-reply'
          ? `dropped ${count} reply(ies) from ${who} to requests it was not sent; first: ${detail}`
          : `dropped ${count} malformed message(s) from ${who}; first: ${detail}`;
    this.logger.warn(what);
    this.emit({ type: 'messages-dropped', ...worker, reason, count, detail, at: Date.now() });
  }

  /** Senders learn from the snapshot which workers are dropping messages. */
  private onCongestion(record: WorkerProcess, congested: boolean): void {
    if (!congested)
      this.logger.log(`worker ${record.identity.slot} (pid ${record.identity.pid}) read its queue down to half; messages to it flow again`);
    this.emit();
  }

  private onReady(record: WorkerProcess, notes: ReadyNotes = {}): void {
    clearTimeout(record.readyTimer);
    const at = Date.now();
    if (!record.ready(at)) return;
    this.noteEveryWorkerJobs(notes.everyWorkerJobs);
    const bootMs = at - record.startedAt;
    const { slot, pid } = record.identity;
    this.logger.log(`worker ${slot} ready in ${bootMs} ms (pid ${pid})`);
    this.emit({ type: 'ready', ...record.identity, bootMs, at });
    this.leadership.update();
    if (this.sticky && !this.sticky.started) this.listenSticky(this.sticky);
    if (!this.clusterReady && this.slots.every((s) => s.current?.state === 'ready')) {
      this.clusterReady = true;
      this.logger.log(`cluster ready: ${this.slots.length} worker(s), port ${this.options.port}`);
      this.emit({ type: 'cluster-ready', node: this.options.nodeId, workers: this.slots.length, at });
    }
  }

  /**
   * Every worker runs the same app: the first to name jobs that will run on each of them stands for
   * all, so the warning comes once per start of the primary, not once per worker or restart.
   */
  private noteEveryWorkerJobs(jobs: readonly string[] | undefined): void {
    if (this.warnedEveryWorkerJobs || !jobs?.length || this.slots.length < 2) return;
    this.warnedEveryWorkerJobs = true;
    this.logger.warn(
      `${jobs.length} @nestjs/schedule job(s) will run on each of the ${this.slots.length} workers, not once: ${jobs.join(', ')}. ` +
        `Import ClusterScheduleModule from nestjs-cluster/schedule to run them on the leader only, ` +
        `or set perWorkerJobs: true (${CLUSTER_ENV.perWorkerJobs}=true) if every worker should run them.`,
    );
  }

  /** From the first ready worker on, as node:cluster's own listener would; once. */
  private listenSticky(sticky: StickyListener): void {
    sticky.listen().then(
      (port) =>
        this.logger.log(`sticky sessions (${this.options.sticky}): the primary listens on port ${port} and hands each connection to a worker`),
      (error: unknown) => {
        this.logger.error(`sticky sessions: cannot listen on port ${this.options.port}: ${describeError(error)}`);
        this.exitCode = Math.max(this.exitCode, EXIT_CODES.primaryError);
        this.shutdown('sticky listener failed');
      },
    );
  }

  private onReadyTimeout(record: WorkerProcess): void {
    if (this.closing || !record.readyTimedOut()) return;
    this.logger.error(
      `worker ${record.identity.slot} not ready after ${this.options.readyTimeoutMs} ms (readyTimeoutMs); killing pid ${record.identity.pid}`,
    );
    record.worker.process.kill('SIGKILL');
  }

  private onExit(record: WorkerProcess, code: number | null, signal: string | null): void {
    clearTimeout(record.readyTimer);
    this.records.delete(record.identity.id);
    this.router.remove(record.identity.id);
    const slot = this.slots[record.identity.slot]!;
    const wasReplacement = slot.replacement === record;
    if (slot.current === record) slot.current = undefined;

    const { expected, reason } = record.exit(code);
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    const line = `worker ${slot.slot} ${how} (pid ${record.identity.pid}, ${reason})`;
    if (expected) this.logger.log(line);
    else this.logger.error(line);
    this.emit({ type: 'exit', ...record.identity, code, signal, expected, reason, at: Date.now() });
    this.leadership.update();

    if (this.closing) {
      // A worker that was killed, cut requests at its drain deadline or failed its hooks: not clean.
      if (code !== 0) this.exitCode = Math.max(this.exitCode, EXIT_CODES.workersKilled);
      return this.finishIfDone();
    }
    // A failed replacement is the rolling restart's to report; the old worker still serves.
    if (expected || wasReplacement) return;
    // An unresponsive worker's replacement is already on its way, or serving.
    this.scheduleRestart(slot, record, !slot.replacement && !slot.current);
  }

  /** Counts an unexpected exit; restarts the slot after its backoff unless a replacement is on its way. */
  private scheduleRestart(slot: SlotState, exited: WorkerProcess, fork: boolean): void {
    const now = Date.now();
    const recent = this.crashes.record(now);
    if (this.crashes.isCrashLoop(recent)) return this.crashLoop(recent);
    if (!fork) return;

    const stayedUp = exited.readyAt !== null && now - exited.readyAt >= this.options.restart.resetAfterMs;
    slot.failures = stayedUp ? 1 : slot.failures + 1;
    const delayMs = backoffDelay(slot.failures, this.options.restart);
    this.logger.warn(`worker ${slot.slot} restarts in ${delayMs} ms (attempt ${slot.failures})`);
    this.emit({ type: 'restart-scheduled', ...exited.identity, delayMs, attempt: slot.failures, at: now });
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      slot.restarts += 1;
      this.fork(slot);
    }, delayMs);
  }

  private crashLoop(exits: number): void {
    const { windowMs, maxRestarts } = this.options.restart;
    this.logger.error(
      `crash loop: ${exits} unexpected worker exits within ${windowMs} ms (limit ${maxRestarts}, CLUSTER_MAX_RESTARTS); stopping the cluster, exit code ${EXIT_CODES.crashLoop}`,
    );
    this.exitCode = EXIT_CODES.crashLoop;
    this.crashLoopReached = true;
    this.emit({ type: 'crash-loop', node: this.options.nodeId, exits, windowMs, at: Date.now() });
    this.shutdown('crash-loop');
  }

  private forceKill(why: string): void {
    if (this.records.size === 0) return;
    this.logger.error(`${why}: killing ${this.records.size} worker(s)`);
    this.exitCode = Math.max(this.exitCode, EXIT_CODES.workersKilled);
    for (const { worker } of this.records.values()) worker.process.kill('SIGKILL');
  }

  private get closing(): boolean {
    return this.stopping.closing;
  }

  private finishIfDone(): void {
    if (!this.closing || this.records.size > 0) return;
    this.stopping.uninstall();
    this.drops.flush();
    this.logger.log(`cluster stopped (exit code ${this.exitCode})`);
    const code = this.exitCode;
    // To the hook alone: no worker is left to hear it, and the other nodes see this one leave.
    this.notify({ type: 'stopped', node: this.options.nodeId, code, at: Date.now() });
    void Promise.resolve(this.linkClosed).then(() => this.finish(code));
  }

  private onLeaderChange(event?: LeaderEvent): void {
    if (event) {
      const { leader, previous, reason } = event;
      if (leader) this.logger.log(`worker ${leader.slot} (pid ${leader.pid}) leads the cluster (epoch ${leader.epoch})`);
      else if (previous) this.logger.log(`worker ${previous.slot} (pid ${previous.pid}) no longer leads (${reason})`);
    }
    this.emit(event);
  }

  /** The other nodes changed (or the link to them): leadership may follow. */
  private onNodesChange(event?: ClusterEvent): void {
    if (event?.type === 'transport') this.leadership.linkChanged(event.status === 'up');
    if (event?.type === 'node-left') this.leadership.nodeLeft();
    // Cut off from the others, this node cannot know who leads there: it names nobody.
    this.leadership.remoteChanged(this.link!.up ? this.link!.leader() : null);
    this.broadcast(event);
  }

  /** An event of this node (if any): to every worker here, to the other nodes, and to `onPrimaryEvent`. */
  private emit(event?: ClusterEvent): void {
    this.broadcast(event);
    if (!event) return;
    this.link?.announce(event);
    this.notify(event);
  }

  /** The event (if any) and the snapshot after it, to every worker of this node. */
  private broadcast(event?: ClusterEvent): void {
    this.router.broadcast(controlEnvelope.lifecycle({ event, workers: this.snapshot(), state: this.state() }));
  }
}
