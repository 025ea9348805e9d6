import { Logger } from '@nestjs/common';
import type { Cluster } from 'node:cluster';
import { EXIT_CODES } from '../cluster.constants.js';
import { ClusterArgumentError, ScaleUnavailableError } from '../cluster.errors.js';
import { describeError } from '../common/describe-error.js';
import { scaleTarget } from '../common/scale-argument.js';
import { ShutdownSequence, TERMINAL_SIGNALS } from '../common/shutdown-sequence.js';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import type { ClusterEvent, LeaderEvent } from '../interfaces/cluster-event.interface.js';
import type { ClusterState, ScaleResult, WorkerInfo } from '../interfaces/worker-info.interface.js';
import { LeaderAppointment, leaderChangeLine } from '../leadership/leader-appointment.js';
import type { ChannelLimits, LifecycleData, ReadyNotes, ScaleReply, ScaleRequest, WorkerSays } from '../channel/channel-to-worker.js';
import { followNodes } from '../nodes/node-routing.js';
import type { NodeLink } from '../transports/node-link.interface.js';
import { residentMemoryMb } from './memory-guard.js';
import { MessageRouter } from './message-router.js';
import { guardPrimaryEventHook } from './primary-event-hook.js';
import { PrimaryNotices } from './primary-notices.js';
import { CrashRestarts } from './crash-restarts.js';
import { RollingReplacement } from './rolling-replacement.js';
import { NO_SLOT, SlotTable, type Member, type Slot } from './slot-table.js';
import { StandbyPool } from './standby-pool.js';
import { WorkerLogs, type WorkerLogLine } from './worker-logs.js';
import { WorkerWatch } from './worker-watch.js';
import { spawnWorker } from './worker-spawn.js';

/** How long the primary waits, once its workers exited, for the rest of their output before it exits. */
const LOGS_SETTLE_MS = 2_000;

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
  /** The user's `onPrimaryEvent`, guarded: it cannot throw. */
  private readonly notify: (event: ClusterEvent) => void;
  private readonly link: NodeLink | undefined;
  private readonly table: SlotTable;
  private readonly channelLimits: ChannelLimits;
  private readonly crashRestarts: CrashRestarts;
  private readonly router: MessageRouter;
  private readonly watch: WorkerWatch;
  private readonly notices: PrimaryNotices;
  private readonly stopping: ShutdownSequence;
  /** The workers' output, when it goes through the primary (`logs: 'tagged'`). */
  private readonly logs: WorkerLogs | undefined;
  private readonly startedAt = Date.now();
  private drainTimer: NodeJS.Timeout | undefined;
  private crashLoopReached = false;
  private exitCode: number = EXIT_CODES.clean;
  private clusterReady = false;
  /** `stopped` was said: it is the last event (node:cluster may report a worker's disconnect after its exit). */
  private stopped = false;
  private linkClosed: Promise<void> | undefined;
  private readonly replacements: RollingReplacement;
  private readonly standbys: StandbyPool;
  private readonly leadership: LeaderAppointment;
  /** Who else hears this node's events (the control socket), besides the user's hook. */
  private readonly observers = new Set<(event: ClusterEvent) => void>();
  /** The scale change under way: the next one waits for it. */
  private scaling: Promise<unknown> = Promise.resolve();
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
    this.notify = guardPrimaryEventHook(options.onPrimaryEvent, logger);
    this.link = link;
    this.table = new SlotTable(options.workers);
    // The deadline covers the delay before the drain as well as the drain.
    const { timeoutMs, delayMs } = options.shutdown;
    this.stopping = new ShutdownSequence({
      timeoutMs: delayMs + timeoutMs,
      onTimeout: () => this.forceKill(`drain took longer than ${timeoutMs} ms${delayMs > 0 ? ` (after the ${delayMs} ms delay)` : ''}`),
    });
    this.logs = options.logs === 'tagged' ? new WorkerLogs({ bootLogs: options.bootLogs }) : undefined;
    this.crashRestarts = new CrashRestarts(
      options.restart,
      {
        fork: (slot) => this.fork(slot),
        crashLoop: (exits) => this.crashLoop(exits),
        emit: (event) => this.emit(event),
        takeOver: (slot) => this.standbys.takeOver(slot),
      },
      logger,
    );
    this.standbys = new StandbyPool(
      options.standby,
      {
        table: this.table,
        closing: () => this.closing,
        fork: () => this.fork(undefined),
        promoted: (member) => this.onPromoted(member),
        emit: (event) => this.emit(event),
      },
      options.restart,
      logger,
    );
    this.replacements = new RollingReplacement(
      {
        table: this.table,
        closing: () => this.closing,
        fork: (slot, asReplacement) => this.fork(slot, { replacement: asReplacement }),
        restartLater: (slot, exited, fork) => this.crashRestarts.exited(slot, exited, fork),
        unavailable: (member, reason) => this.router.unavailable(member, reason),
        leadershipMayChange: () => this.leadership.update(),
        emit: (event) => this.emit(event),
      },
      options,
      logger,
    );
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
    this.watch = new WorkerWatch(
      options,
      this.table,
      {
        replacements: this.replacements,
        measureMemory,
        listening: ({ identity }, { address, port }) => this.emit({ type: 'listening', ...identity, address, port, at: Date.now() }),
      },
      logger,
    );
  }

  /** Forks the workers; resolves with the primary's exit code once the cluster has stopped. */
  start(): Promise<number> {
    for (const signal of TERMINAL_SIGNALS) this.stopping.listen(signal, () => this.shutdown(signal));
    this.stopping.listen('SIGHUP', () => void this.restartWorkers('SIGHUP'));
    this.stopping.listen('exit', this.killOnExit);
    this.stopping.listen('uncaughtException', this.onUncaught);
    // Tagged logs: the workers' stdout and stderr are pipes the primary reads; stdin stays shared.
    this.cluster.setupPrimary({ serialization: this.options.serialization, ...(this.logs && { stdio: ['inherit', 'pipe', 'pipe', 'ipc'] }) });
    for (const slot of this.table.slots) this.fork(slot);
    this.standbys.fill();
    this.link?.start({
      workers: () => this.table.infos(),
      topics: () => this.router.topics(),
      leader: () => this.leadership.own(),
      message: (node, message) => this.router.receiveFromNode(node, message),
      changed: (event) => this.onNodesChange(event),
      gone: (node) => this.router.nodeGone(node, `node ${node} left the cluster or cannot be reached`),
    });
    this.watch.start();
    return this.finished;
  }

  /** Live workers of this node, then of the other nodes (each ordered by slot, then age). */
  snapshot(): WorkerInfo[] {
    return this.link ? [...this.table.infos(), ...this.link.workers()] : this.table.infos();
  }

  state(): ClusterState {
    const transport = this.link ? (this.link.up ? 'up' : 'down') : 'none';
    return {
      expectedWorkers: this.table.slots.length,
      crashLoop: this.crashLoopReached,
      stopping: this.closing,
      dropped: { ...this.notices.dropped },
      transport,
      leader: this.leadership.leader(),
      rollingRestarts: { ...this.replacements.rolls },
    };
  }

  /**
   * A rolling restart of `only` these slots (all by default); see `RollingReplacement.restart`. One of
   * every slot (a deploy) renews the standbys too: those booted before it run the old code.
   */
  restartWorkers(reason: string, only?: readonly number[]): Promise<void> {
    const restarted = this.replacements.restart(reason, only);
    if (only === undefined) this.standbys.renew();
    return restarted;
  }

  /** The warm standbys, as the control socket lists them (slot -1). */
  standbyInfos(): WorkerInfo[] {
    return this.table.standbyInfos();
  }

  /** The last `count` lines the workers of `slot` (of every slot, unset) wrote, oldest first; none with `logs: 'inherit'`. */
  logLines(slot?: number, count?: number): WorkerLogLine[] {
    return this.logs?.lines(slot, count) ?? [];
  }

  /** Hears every line a worker writes from now on (with `logs: 'tagged'`); returns how to stop, or `undefined` without relaying. */
  followLogLines(listener: (line: WorkerLogLine) => void): (() => void) | undefined {
    return this.logs?.tail(listener);
  }

  /**
   * Changes the number of workers as `argument` says (read with `readScaleArgument`: a count, `'4'`, or
   * a change of it, `'+2'`, `'-1'`): new slots are forked and resolved once ready (or failed to start:
   * then their restarts take over); the highest slots drain the way a rolling restart drains a replaced
   * worker (open connections handed to the others) and are gone once they exited. Changes run one after
   * the other, each from the count the one before left. Rejects with `ClusterArgumentError` when the
   * count would be outside 1 to 4096, with `ScaleUnavailableError` while the cluster shuts down.
   * `retiring` hears which workers a scale-down removes, once they were asked to drain.
   */
  scale(argument: string, retiring?: (members: readonly Member[], result: ScaleResult) => void): Promise<ScaleResult> {
    const run = this.scaling.then(() => this.resize(argument, retiring));
    this.scaling = run.catch(() => undefined);
    return run;
  }

  /** Hears every event of this node from now on; returns how to stop. The listener must not throw. */
  observe(listener: (event: ClusterEvent) => void): () => void {
    this.observers.add(listener);
    return () => this.observers.delete(listener);
  }

  /**
   * Graceful shutdown: stop restarting, ask every worker to drain, SIGKILL what is left after
   * `shutdown.timeoutMs`. A second call (second signal) kills at once. On a signal, with
   * `shutdown.delayMs`, the node says it is stopping at once (readiness goes down) and the workers
   * keep serving that long before the drain begins.
   */
  shutdown(reason: string): void {
    // Arms the deadline first (the delay and the drain), so nothing below can leave the cluster hanging.
    const step = this.stopping.begin(reason);
    if (step === 'force') this.forceKill(`${reason} again`);
    if (step !== 'started') return;
    this.replacements.clear();
    this.standbys.clear();
    for (const slot of this.table.slots) clearTimeout(slot.restartTimer);
    const { delayMs } = this.options.shutdown;
    if (delayMs > 0 && (TERMINAL_SIGNALS as readonly string[]).includes(reason)) {
      this.logger.log(`shutting down (${reason}): readiness down, ${this.table.live} worker(s) serve ${delayMs} ms more before they drain`);
      this.emit({ type: 'shutdown', node: this.options.nodeId, reason, at: Date.now() });
      this.drainTimer = setTimeout(() => this.drainAll(reason), delayMs);
      return;
    }
    this.drainAll(reason, true);
  }

  /** The drain itself: every worker is asked to finish its work and exit. */
  private drainAll(reason: string, announce = false): void {
    this.watch.stop();
    this.logger.log(`shutting down (${reason}): draining ${this.table.live} worker(s)`);
    for (const { process } of this.table.members()) process.stop('shutdown');
    if (announce) this.emit({ type: 'shutdown', node: this.options.nodeId, reason, at: Date.now() });
    else this.emit();
    // The lease goes first, as soon as the leader here has let go, so another node leads at once; then
    // the other nodes forget this one now, rather than once it has been silent long enough.
    const released = this.leadership.close();
    this.linkClosed = this.link && released.then(() => this.link!.close());
    for (const { channel } of this.table.members()) channel.shutdown(false);
    this.finishIfDone();
  }

  private async resize(argument: string, retiring?: (members: readonly Member[], result: ScaleResult) => void): Promise<ScaleResult> {
    if (this.closing) throw new ScaleUnavailableError(argument, 'the cluster is shutting down');
    const from = this.table.slots.length;
    const target = scaleTarget(argument, from);
    if ('allowed' in target) throw new ClusterArgumentError('workers', argument, target.allowed);
    const { workers } = target;
    this.logger.log(`scaling from ${from} to ${workers} worker(s)`);
    if (workers > from) {
      const started: Array<Promise<boolean>> = [];
      while (this.table.slots.length < workers) started.push(this.fork(this.table.grow()).process.started);
      this.emit();
      await Promise.all(started);
    } else {
      const leaving: Member[] = [];
      while (this.table.slots.length > workers) {
        const slot = this.table.retireLast()!;
        clearTimeout(slot.restartTimer);
        for (const member of [slot.current, slot.replacement]) {
          if (!member?.process.stop('scaled-down')) continue;
          member.channel.shutdown(true);
          leaving.push(member);
        }
        // A slot waiting for its restart has no worker: it is gone at once.
        this.table.forgetIfEmpty(slot);
      }
      this.leadership.update();
      this.emit();
      retiring?.(leaving, { from, to: workers });
      await Promise.all(leaving.map((member) => member.process.exited));
    }
    this.logger.log(`scaled from ${from} to ${this.table.slots.length} worker(s)`);
    return { from, to: this.table.slots.length };
  }

  /** Forks a worker into `slot` (to serve it, or to replace its current one), or a warm standby (no slot). */
  private fork(slot: Slot | undefined, { replacement = false } = {}): Member {
    const hooks = { hear: (self: () => Member) => this.hear(self), emit: (event: ClusterEvent) => this.emit(event), exited: this.onExit.bind(this) };
    const index = slot?.slot ?? NO_SLOT;
    const member = spawnWorker(this.cluster, this.options.nodeId, index, this.channelLimits, hooks, this.logs && WorkerLogs.forkEnv());
    const { stdout, stderr } = member.process.worker.process;
    this.logs?.attach(member.identity, stdout, stderr);
    member.process.readyTimer = setTimeout(() => this.onReadyTimeout(member), this.options.readyTimeoutMs);
    if (slot) this.table.add(member, replacement);
    else this.table.addStandby(member);
    const { id, pid } = member.identity;
    this.logger.log(`${slot ? `worker ${index}` : 'standby'} forked (id ${id}, pid ${pid})${replacement ? ' as a replacement' : ''}`);
    this.emit({ type: 'fork', ...member.identity, at: Date.now() });
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
      standby: (listening) => this.onStandby(member(), listening),
      restart: () => void this.restartWorkers(`requested by worker ${member().identity.slot}`),
      released: () => this.leadership.released(member().identity.id),
      handlers: (topics) => void (member().topics = new Set(topics)),
      message: (message) => this.router.route(member(), message),
      handedConnection: (port, connection) => this.router.handToSuccessor(member(), port, connection),
      listen: (request) => this.watch.listen(member(), request),
      accepted: (id, accepted) => this.watch.answered(member(), id, accepted),
      scale: (request) => this.scaleFor(member(), request),
      dropped: (reason, detail) => this.notices.drop(member().identity, reason, detail),
      congestion: (congested) => this.onCongestion(member(), congested),
      failed: (error) => this.logger.error(`a message from a worker could not be handled; it was dropped: ${describeError(error)}`),
    };
  }

  /**
   * A worker asks for a change of the worker count (`ClusterService.scale`): the same `scale` as the
   * control socket's, answered once it is done. A worker the change removes is answered as soon as it
   * is asked to drain: waiting for its own exit, it would hold its drain until the deadline.
   */
  private scaleFor(member: Member, { seq, workers }: ScaleRequest): void {
    let answered = false;
    const answer = (reply: ScaleReply): void => {
      if (answered) return;
      answered = true;
      member.channel.answerScale(reply);
    };
    this.scale(workers, (leaving, result) => leaving.includes(member) && answer({ seq, result })).then(
      (result) => answer({ seq, result }),
      (error: unknown) => {
        if (error instanceof ClusterArgumentError) return answer({ seq, allowed: error.allowed });
        answer({ seq, unavailable: error instanceof ScaleUnavailableError ? error.reason : describeError(error) });
      },
    );
  }

  private onHello({ process, channel }: Member): void {
    channel.lifecycle(this.lifecycle());
    // A shutdown sent before the worker listened was lost: repeat it.
    const { stopReason } = process;
    if (this.closing || stopReason === 'shutdown' || stopReason === 'replaced' || stopReason === 'scaled-down') {
      channel.shutdown(!this.closing && (stopReason === 'replaced' || stopReason === 'scaled-down'));
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
    const bootMs = at - (process.promotedAt ?? process.startedAt);
    const was = process.promotedAt === null ? '' : ' after its promotion from standby';
    this.logger.log(`worker ${identity.slot} ready in ${bootMs} ms${was} (pid ${identity.pid})`);
    this.emit({ type: 'ready', ...identity, bootMs, at });
    this.leadership.update();
    this.watch.workerReady(() => {
      this.exitCode = Math.max(this.exitCode, EXIT_CODES.primaryError);
      this.shutdown('sticky listener failed');
    });
    if (!this.clusterReady && this.table.allReady()) {
      this.clusterReady = true;
      this.logger.log(`cluster ready: ${this.table.slots.length} worker(s) ready in ${at - this.startedAt} ms, port ${this.options.port}`);
      this.emit({ type: 'cluster-ready', node: this.options.nodeId, workers: this.table.slots.length, at });
    }
  }

  /** A warm standby booted: it waits for a slot. */
  private onStandby(member: Member, listening: boolean): void {
    if (!member.standby) return;
    clearTimeout(member.process.readyTimer);
    this.standbys.standingBy(member, listening);
  }

  /**
   * A standby took a slot; its output is tagged with the slot from now on. One that listens already
   * (on ports the primary owns) is ready at once; the other has `readyTimeoutMs` to listen.
   */
  private onPromoted(member: Member): void {
    this.logs?.promoted(member.identity);
    if (member.process.listening) return this.onReady(member);
    member.process.readyTimer = setTimeout(() => this.onReadyTimeout(member), this.options.readyTimeoutMs);
  }

  private onReadyTimeout({ process, identity }: Member): void {
    if (this.closing || !process.readyTimedOut()) return;
    const who = identity.slot === NO_SLOT ? 'standby' : `worker ${identity.slot}`;
    this.logger.error(`${who} not ready after ${this.options.readyTimeoutMs} ms (readyTimeoutMs); killing pid ${identity.pid}`);
    process.worker.process.kill('SIGKILL');
  }

  private onExit(member: Member, code: number | null, signal: string | null): void {
    const { process, identity } = member;
    clearTimeout(process.readyTimer);
    member.channel.close();
    if (member.standby) return this.onStandbyExit(member, code, signal);
    const slot = this.table.slotOf(member);
    const wasReplacement = this.table.remove(member);
    this.router.workerGone(member);
    this.watch.workerGone(member);
    const retired = this.table.forgetIfEmpty(slot);

    const { expected, reason } = process.exit(code);
    this.logs?.exited(identity, !expected);
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
    if (expected || wasReplacement || retired) return;
    // An unresponsive worker's replacement is already on its way, or serving.
    this.crashRestarts.exited(slot, process, !slot.replacement && !slot.current);
  }

  /** A standby exited, in no slot: nothing to restart, but its place in the pool is filled again. */
  private onStandbyExit(member: Member, code: number | null, signal: string | null): void {
    const { process, identity } = member;
    this.table.remove(member);
    this.router.workerGone(member);
    this.watch.workerGone(member);
    const { expected, reason } = process.exit(code);
    this.logs?.exited(identity, !expected);
    const line = `standby ${signal ? `killed by ${signal}` : `exited with code ${code}`} (pid ${identity.pid}, ${reason})`;
    if (expected) this.logger.log(line);
    else this.logger.error(line);
    this.emit({ type: 'exit', ...identity, code, signal, expected, reason, at: Date.now() });
    if (this.closing) {
      if (code !== 0) this.exitCode = Math.max(this.exitCode, EXIT_CODES.workersKilled);
      return this.finishIfDone();
    }
    this.standbys.exited(expected);
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

  /** The cluster is shutting down (a signal, a crash loop, or `shutdown`). */
  get closing(): boolean {
    return this.stopping.closing;
  }

  private finishIfDone(): void {
    if (!this.closing || this.table.live > 0) return;
    clearTimeout(this.drainTimer);
    this.stopping.uninstall();
    this.router.close();
    this.notices.flush();
    this.logger.log(`cluster stopped (exit code ${this.exitCode})`);
    const code = this.exitCode;
    // To the hook alone: no worker is left to hear it, and the other nodes see this one leave.
    this.stopped = true;
    this.notify({ type: 'stopped', node: this.options.nodeId, code, at: Date.now() });
    // The workers' last lines (a crash's stack trace) may still be on their way through the pipes.
    void Promise.all([this.linkClosed, this.logs?.settled(LOGS_SETTLE_MS)]).then(() => this.finish(code));
  }

  private onLeaderChange(event?: LeaderEvent): void {
    const line = event && leaderChangeLine(event);
    if (line) this.logger.log(line);
    this.emit(event);
  }

  /** The other nodes changed (or the link to them): leadership may follow. */
  private onNodesChange(event?: ClusterEvent): void {
    followNodes(this.leadership, this.link!, event);
    this.broadcast(event);
  }

  /** An event of this node (if any): to every worker here, to the other nodes, and to `onPrimaryEvent`. */
  private emit(event?: ClusterEvent): void {
    if (this.stopped) return;
    this.broadcast(event);
    if (!event) return;
    this.link?.announce(event);
    this.notify(event);
    for (const observer of this.observers) observer(event);
  }

  /** The event (if any) and the snapshot after it, to every worker of this node that listens. */
  private broadcast(event?: ClusterEvent): void {
    const data = this.lifecycle(event);
    for (const { channel } of this.table.members()) if (channel.listening) channel.lifecycle(data);
  }

  private readonly lifecycle = (event?: ClusterEvent): LifecycleData => ({ event, workers: this.snapshot(), state: this.state() });
}
