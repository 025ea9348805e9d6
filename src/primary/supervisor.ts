import { Logger } from '@nestjs/common';
import type { Cluster } from 'node:cluster';
import { EXIT_CODES, WORKER_SLOT_ENV } from '../cluster.constants.js';
import { CLUSTER_ENV } from '../cluster-options.js';
import { describeError } from '../common/describe-error.js';
import { ShutdownSequence, TERMINAL_SIGNALS } from '../common/shutdown-sequence.js';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import type { ClusterEvent, LeaderEvent, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { ClusterState, WorkerInfo } from '../interfaces/worker-info.interface.js';
import { LeaderAppointment } from '../leadership/leader-appointment.js';
import type { LifecycleData, ReadyNotes } from '../channel/channel-protocol.js';
import { ChannelToWorker, type ChannelLimits, type WorkerSays } from '../channel/channel-to-worker.js';
import { followNodes } from '../nodes/node-routing.js';
import type { NodeLink } from '../transports/node-link.interface.js';
import { LivenessMonitor } from './liveness-monitor.js';
import { MemoryGuard, residentMemoryMb } from './memory-guard.js';
import { MessageRouter } from './message-router.js';
import { PrimaryNotices } from './primary-notices.js';
import { RestartQueue, type RestartRun } from './restart-queue.js';
import { backoffDelay, CrashWindow } from './restart-policy.js';
import { SlotTable, type Member, type Slot } from './slot-table.js';
import { StickyListener } from './sticky-listener.js';
import { WorkerProcess } from './worker-process.js';

/** What the Supervisor works with besides node:cluster; each has a default but the link. */
export interface SupervisorDeps {
  readonly logger?: Logger;
  /** Resident memory of a worker in MB, for the memory guard. */
  readonly measureMemory?: (pid: number) => number | undefined;
  /** The other nodes of the cluster (Redis), if any. */
  readonly link?: NodeLink;
}

/**
 * The primary process: forks one worker per slot, restarts crashed ones with backoff, stops the
 * cluster on a crash loop, replaces workers one at a time without dropping traffic (rolling restart,
 * memory guard, unresponsive workers), drains the cluster on SIGTERM/SIGINT, and relays every
 * lifecycle event to all workers. It decides; it is not on the message path (the router is) and it
 * never creates the Nest app or touches a request.
 */
export class Supervisor {
  private readonly logger: Logger;
  private readonly link: NodeLink | undefined;
  private readonly table: SlotTable;
  private readonly channelLimits: ChannelLimits;
  private readonly crashes: CrashWindow;
  private readonly router: MessageRouter;
  private readonly memoryGuard: MemoryGuard | undefined;
  private readonly liveness: LivenessMonitor<Member> | undefined;
  private readonly notices: PrimaryNotices;
  private readonly stopping: ShutdownSequence;
  private crashLoopReached = false;
  private readonly rolls = { started: 0, done: 0, aborted: 0 };
  private exitCode: number = EXIT_CODES.clean;
  private clusterReady = false;
  private linkClosed: Promise<void> | undefined;
  private readonly restarts = new RestartQueue((run) => this.roll(run));
  private readonly leadership: LeaderAppointment;
  /** Owns the port in sticky mode, and hands each connection to a worker. */
  private readonly sticky: StickyListener | undefined;
  private finish!: (code: number) => void;
  private readonly finished = new Promise<number>((resolve) => (this.finish = resolve));
  /** Last resort against orphans: whatever way this process exits, its workers go with it. */
  private readonly killOnExit = (): void => {
    for (const { process } of this.table.members()) process.worker.process.kill('SIGKILL');
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
    this.link = link;
    this.table = new SlotTable(options.workers);
    const { timeoutMs } = options.shutdown;
    this.stopping = new ShutdownSequence({ timeoutMs, onTimeout: () => this.forceKill(`drain took longer than ${timeoutMs} ms`) });
    this.crashes = new CrashWindow(options.restart);
    const { messaging } = options;
    this.channelLimits = { serialization: options.serialization, maxMessageBytes: messaging.maxMessageBytes, maxQueueBytes: messaging.maxQueueBytes };
    this.notices = new PrimaryNotices(logger, { workers: options.workers, maxQueueBytes: messaging.maxQueueBytes }, (event) => this.emit(event));
    this.router = new MessageRouter(
      { node: options.nodeId, maxPendingRequests: messaging.maxPendingRequests },
      this.table,
      {
        dropped: (worker, reason, detail) => this.notices.drop(worker, reason, detail),
        failed: (error) => this.logger.error(`a message from a worker could not be handled; it was dropped: ${describeError(error)}`),
      },
      link,
    );
    this.leadership = new LeaderAppointment(
      options.nodeId,
      {
        candidates: () => this.table.ready(),
        standing: (id) => this.table.member(id)?.process.state ?? 'exited',
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
          ready: () => this.table.serving().map((m) => ({ id: m.identity.id, slot: m.identity.slot })),
          // The port the connection arrived on: the one the listener got, when `port` is 0.
          hand: (id, connection, head) => this.router.handConnection(id, connection.localPort!, connection, head),
        },
        logger,
      );
    }
    if (options.unresponsiveMs > 0) {
      this.liveness = new LivenessMonitor(
        options.unresponsiveMs,
        () => [...this.table.members()].filter((m) => m.process.state === 'ready'),
        (member, silentMs) => void this.onUnresponsive(member, silentMs),
      );
    }
    const { maxMemoryMb, memoryCheckIntervalMs } = options.restart;
    if (maxMemoryMb > 0) {
      this.memoryGuard = new MemoryGuard(
        maxMemoryMb,
        memoryCheckIntervalMs,
        () => this.table.serving().map((m) => m.identity),
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
    for (const slot of this.table.slots) this.fork(slot);
    this.link?.start({
      workers: () => this.table.infos(),
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
    const local = this.table.infos();
    return this.link ? [...local, ...this.link.workers()] : local;
  }

  state(): ClusterState {
    const transport = this.link ? (this.link.up ? 'up' : 'down') : 'none';
    const leader = this.leadership.leader();
    return {
      expectedWorkers: this.table.slots.length,
      crashLoop: this.crashLoopReached,
      dropped: { ...this.notices.dropped },
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
    const slots = (only ?? this.table.slots.map((s) => s.slot)).filter((slot) => this.table.slot(slot) !== undefined);
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
    for (const slot of this.table.slots) clearTimeout(slot.restartTimer);
    this.logger.log(`shutting down (${reason}): draining ${this.table.live} worker(s)`);
    for (const { process } of this.table.members()) process.stop('shutdown');
    this.emit({ type: 'shutdown', node: this.options.nodeId, reason, at: Date.now() });
    // The lease goes first, as soon as the leader here has let go, so another node leads at once; then
    // the other nodes forget this one now, rather than once it has been silent long enough.
    const released = this.leadership.close();
    this.linkClosed = this.link && released.then(() => this.link!.close());
    for (const { channel } of this.table.members()) channel.shutdown(false);
    this.finishIfDone();
  }

  private async roll(run: RestartRun): Promise<void> {
    const { reason, slots } = run;
    this.logger.log(`rolling restart (${reason}): ${slots.length} slot(s), one at a time`);
    this.rolls.started += 1;
    this.emit({ type: 'rolling-restart', node: this.options.nodeId, phase: 'start', reason, at: Date.now() });
    while (run.next < slots.length) {
      const slot = this.table.slot(slots[run.next++]!)!;
      // A slot waiting for its restart gets a fresh worker anyway.
      if (!slot.current || slot.current.process.state !== 'ready') continue;
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
  private async replace(slot: Slot): Promise<string | undefined> {
    const old = slot.current;
    const next = this.fork(slot, { replacement: true });
    if (!(await next.process.started)) {
      slot.replacement = undefined;
      if (!slot.current) this.scheduleRestart(slot, next.process, true); // the old one died meanwhile too
      return next.process.stopReason === 'ready-timeout'
        ? `replacement not ready within ${this.options.readyTimeoutMs} ms (readyTimeoutMs)`
        : 'replacement exited before it was ready';
    }
    slot.replacement = undefined;
    slot.current = next;
    if (old && old.process.stop('replaced')) {
      this.logger.log(`worker ${slot.slot} (pid ${old.identity.pid}) replaced by pid ${next.identity.pid}; draining the old one`);
      this.leadership.update();
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
  private async onUnresponsive(member: Member, silentMs: number): Promise<void> {
    if (this.closing || !member.process.unresponsive()) return;
    const { slot: index, pid } = member.identity;
    const slot = this.table.slot(index)!;
    this.logger.error(
      `worker ${index} (pid ${pid}) unresponsive: nothing heard from it for ${silentMs} ms (unresponsiveMs ${this.options.unresponsiveMs}); replacing it, then killing it`,
    );
    this.router.unavailable(member, `slot ${index} (pid ${pid}) is unresponsive`);
    this.leadership.update();
    // node:cluster's round robin would keep handing it connections that nobody answers.
    member.process.worker.disconnect();
    this.emit({ type: 'unresponsive', ...member.identity, silentMs, at: Date.now() });
    if (slot.current === member && !slot.replacement) {
      const next = this.fork(slot, { replacement: true });
      const ready = await next.process.started;
      if (slot.replacement === next) slot.replacement = undefined;
      if (ready) slot.current = next;
    }
    member.process.worker.process.kill('SIGKILL');
  }

  private onMemoryOverLimit(slot: number, rssMb: number): void {
    // Already being replaced, or about to be by a restart asked for earlier.
    if (this.closing || this.table.slot(slot)?.replacement || this.restarts.covers(slot)) return;
    this.logger.warn(`worker ${slot} uses ${rssMb.toFixed(0)} MB, above restart.maxMemoryMb (${this.options.restart.maxMemoryMb}); replacing it`);
    void this.restartWorkers(`memory of worker ${slot}`, [slot]);
  }

  private fork(slot: Slot, { replacement = false } = {}): Member {
    // The node's name goes with the slot: every worker of this node speaks as the same node.
    const worker = this.cluster.fork({ [WORKER_SLOT_ENV]: String(slot.slot), [CLUSTER_ENV.nodeId]: this.options.nodeId });
    const identity: WorkerIdentity = { node: this.options.nodeId, id: worker.id, slot: slot.slot, pid: worker.process.pid ?? 0 };
    const process = new WorkerProcess(worker, identity);
    const channel = new ChannelToWorker(
      worker,
      identity,
      this.channelLimits,
      this.hear(() => member),
    );
    const member: Member = {
      identity,
      process,
      channel,
      topics: new Set(),
      pending: 0,
      get lastSeen() {
        return channel.lastSeen;
      },
    };
    process.readyTimer = setTimeout(() => this.onReadyTimeout(member), this.options.readyTimeoutMs);
    this.table.add(member, replacement);

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
    worker.on('exit', (code: number | null, signal: string | null) => this.onExit(member, code, signal));
    // A send racing the worker's exit fails with EPIPE / channel closed; the exit event tells the story.
    worker.on('error', () => undefined);

    this.logger.log(`worker ${slot.slot} forked (id ${identity.id}, pid ${identity.pid})${replacement ? ' as a replacement' : ''}`);
    this.emit({ type: 'fork', ...identity, at: Date.now() });
    return member;
  }

  /**
   * What a worker says on its channel. Cluster messages and handed-off connections go straight to the
   * router; the rest is the worker's life, decided here. The channel is closed at exit: nothing of an
   * exited worker arrives.
   */
  private hear(member: () => Member): WorkerSays {
    return {
      hello: () => this.onHello(member()),
      ready: (notes) => this.onReady(member(), notes),
      restart: () => void this.restartWorkers(`requested by worker ${member().identity.slot}`),
      released: () => this.leadership.released(member().identity.id),
      handlers: (topics) => void (member().topics = new Set(topics)),
      message: (message) => this.router.route(member(), message),
      connection: (port, connection) => this.router.passConnection(member(), port, connection),
      dropped: (reason, detail) => this.notices.drop(member().identity, reason, detail),
      congestion: (congested) => this.onCongestion(member(), congested),
      failed: (error) => this.logger.error(`a message from a worker could not be handled; it was dropped: ${describeError(error)}`),
    };
  }

  private onHello({ process, channel }: Member): void {
    channel.lifecycle(this.lifecycle());
    // A shutdown sent before the worker listened was lost: repeat it.
    if (this.closing || process.stopReason === 'shutdown' || process.stopReason === 'replaced') {
      channel.shutdown(!this.closing && process.stopReason === 'replaced');
    }
  }

  /** Senders learn from the snapshot which workers are dropping messages. */
  private onCongestion({ identity }: Member, congested: boolean): void {
    if (!congested) this.logger.log(`worker ${identity.slot} (pid ${identity.pid}) read its queue down to half; messages to it flow again`);
    this.emit();
  }

  private onReady({ process, identity }: Member, notes: ReadyNotes = {}): void {
    clearTimeout(process.readyTimer);
    const at = Date.now();
    if (!process.ready(at)) return;
    this.notices.everyWorkerJobs(notes.everyWorkerJobs);
    const bootMs = at - process.startedAt;
    this.logger.log(`worker ${identity.slot} ready in ${bootMs} ms (pid ${identity.pid})`);
    this.emit({ type: 'ready', ...identity, bootMs, at });
    this.leadership.update();
    if (this.sticky && !this.sticky.started) this.listenSticky(this.sticky);
    if (!this.clusterReady && this.table.allReady()) {
      this.clusterReady = true;
      this.logger.log(`cluster ready: ${this.table.slots.length} worker(s), port ${this.options.port}`);
    }
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

  private onReadyTimeout({ process, identity }: Member): void {
    if (this.closing || !process.readyTimedOut()) return;
    this.logger.error(`worker ${identity.slot} not ready after ${this.options.readyTimeoutMs} ms (readyTimeoutMs); killing pid ${identity.pid}`);
    process.worker.process.kill('SIGKILL');
  }

  private onExit(member: Member, code: number | null, signal: string | null): void {
    const { process, identity } = member;
    clearTimeout(process.readyTimer);
    member.channel.close();
    const wasReplacement = this.table.remove(member);
    this.router.workerGone(member);
    const slot = this.table.slot(identity.slot)!;

    const { expected, reason } = process.exit(code);
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    const line = `worker ${slot.slot} ${how} (pid ${identity.pid}, ${reason})`;
    if (expected) this.logger.log(line);
    else this.logger.error(line);
    this.emit({ type: 'exit', ...identity, code, signal, expected, reason, at: Date.now() });
    this.leadership.update();

    if (this.closing) {
      // A worker that was killed, cut requests at its drain deadline or failed its hooks: not clean.
      if (code !== 0) this.exitCode = Math.max(this.exitCode, EXIT_CODES.workersKilled);
      return this.finishIfDone();
    }
    // A failed replacement is the rolling restart's to report; the old worker still serves.
    if (expected || wasReplacement) return;
    // An unresponsive worker's replacement is already on its way, or serving.
    this.scheduleRestart(slot, process, !slot.replacement && !slot.current);
  }

  /** Counts an unexpected exit; restarts the slot after its backoff unless a replacement is on its way. */
  private scheduleRestart(slot: Slot, exited: WorkerProcess, fork: boolean): void {
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
    if (this.table.live === 0) return;
    this.logger.error(`${why}: killing ${this.table.live} worker(s)`);
    this.exitCode = Math.max(this.exitCode, EXIT_CODES.workersKilled);
    for (const { process } of this.table.members()) process.worker.process.kill('SIGKILL');
  }

  private get closing(): boolean {
    return this.stopping.closing;
  }

  private finishIfDone(): void {
    if (!this.closing || this.table.live > 0) return;
    this.stopping.uninstall();
    this.router.close();
    this.notices.flush();
    this.logger.log(`cluster stopped (exit code ${this.exitCode})`);
    const code = this.exitCode;
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
    followNodes(this.leadership, this.link!, event);
    this.broadcast(event);
  }

  /** An event of this node (if any): to every worker here, and to the other nodes. */
  private emit(event?: ClusterEvent): void {
    this.broadcast(event);
    if (event) this.link?.announce(event);
  }

  /** The event (if any) and the snapshot after it, to every worker of this node that listens. */
  private broadcast(event?: ClusterEvent): void {
    const data = this.lifecycle(event);
    for (const { channel } of this.table.members()) if (channel.listening) channel.lifecycle(data);
  }

  private lifecycle(event?: ClusterEvent): LifecycleData {
    return { event, workers: this.snapshot(), state: this.state() };
  }
}
