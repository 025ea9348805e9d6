import { Logger } from '@nestjs/common';
import type { IEntryNestModule } from '@nestjs/core';
import cluster from 'node:cluster';
import { EXIT_CODES, WORKER_LOGS_ENV, WORKER_READY_MARK, WORKER_SLOT_ENV } from '../cluster.constants.js';
import type { ClusteredApp, ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import type { WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import { everyWorkerJobs } from '../schedule/every-worker-jobs.js';
import { ChannelToPrimary, type ReadyNotes } from '../channel/channel-to-primary.js';
import { IpcWorkerTransport } from '../transports/ipc/ipc-worker.transport.js';
import { loadMessageLane } from '../transports/node-link.loader.js';
import { laneUp } from '../nodes/direct-routing.js';
import { gatewaysWithoutSlotIds, nameSessionsAfterSlot, type SlotSessionIds } from '../websockets/slot-session-ids.js';
import { describeError } from '../common/describe-error.js';
import { ShutdownSequence, TERMINAL_SIGNALS } from '../common/shutdown-sequence.js';
import { serveHandedConnection, closeApp, createApp, drainDeadline, listenApp, prepareStandby, type StartedApp } from './app-lifecycle.js';
import { ListeningThroughPrimary } from './listen-through-primary.js';

/**
 * Terminal signals reach the whole process group (Ctrl-C reaches the primary and every worker at
 * once). Workers leave them to the primary, which drains them in order; a worker that receives one
 * and hears nothing from the primary within this time was signalled on its own and drains itself.
 */
const OWN_SIGNAL_GRACE_MS = 1_000;

/** The slot a warm standby is forked with (env), until it takes one. */
const STANDBY_SLOT = -1;

/**
 * Runs inside a forked worker: creates the app, tells the primary once `listen` resolved, and drains
 * when the primary says so. A warm standby (forked with slot -1) creates and initializes its app, says
 * so, and holds back its listen until the primary gives it a slot (`promote`).
 */
export class WorkerRuntime {
  private logger: Logger;
  private started: StartedApp | undefined;
  /** Creating the app, or making it listen: a drain asked meanwhile waits for the step to end. */
  private booting = true;
  /** Resolves `start` once a standby serves. */
  private onPromoted: (() => void) | undefined;
  /** A standby that listens already, on ports the primary owns: promoted, it serves at once. */
  private listeningAhead = false;
  /** The socket.io servers given slot-carrying session ids (`sticky: 'sid'`). */
  private sessionIds: SlotSessionIds | undefined;
  /** Control from and to the primary; the transport carries the cluster's messages over it. */
  private channel: ChannelToPrimary | undefined;
  private transport: IpcWorkerTransport | undefined;
  /** No deadline of its own: the primary kills a worker that drains longer than `shutdown.timeoutMs`. */
  private readonly stopping = new ShutdownSequence();
  private handOff = false;
  private ownSignalTimer: NodeJS.Timeout | undefined;
  /** The end of the boot log was marked on stdout (see `markBootDone`). */
  private bootMarked = false;

  constructor(
    private readonly self: WorkerIdentity,
    private readonly options: ResolvedClusterOptions,
  ) {
    this.logger = new Logger(`ClusterWorker#${self.slot === STANDBY_SLOT ? 'standby' : self.slot}`);
  }

  /**
   * Who this worker is: the node and slot the primary gave it (env), node:cluster's id, its pid. A
   * standby's slot is -1 until it takes one; the object is then updated in place, so that whatever holds
   * it (the transport, `ClusterService.self`, the socket.io session ids) presents the real slot.
   */
  static identity(options: ResolvedClusterOptions): WorkerIdentity {
    return { node: options.nodeId, id: cluster.worker?.id ?? 0, slot: Number(process.env[WORKER_SLOT_ENV]), pid: process.pid };
  }

  private get standingBy(): boolean {
    return this.self.slot === STANDBY_SLOT;
  }

  async start(module: IEntryNestModule): Promise<ClusteredApp> {
    const { serialization, messaging } = this.options;
    const channel = (this.channel = new ChannelToPrimary({ serialization, ...messaging }));
    // A standby joins the lane once it has a slot: its address there names the slot.
    const lane = this.standingBy ? undefined : await loadMessageLane(this.options, this.self, this.logger);
    this.transport = new IpcWorkerTransport(this.self, serialization, messaging, channel, lane);
    // Before the app exists: its servers listen through the primary from their first listen on.
    const listening = this.options.distribution === 'primary' ? new ListeningThroughPrimary((request) => channel.listen(request)) : undefined;
    listening?.install();
    channel.open({
      shutdown: (handOff) => void this.drain('asked by the primary', handOff),
      handedConnection: (port, connection, head) => serveHandedConnection(this.started, listening, port, connection, head),
      promote: (slot) => void this.promote(slot),
    });
    for (const signal of TERMINAL_SIGNALS) this.stopping.listen(signal, () => this.onTerminalSignal(signal));
    // The primary heard the signal too and leads the stop (it may keep the workers serving for
    // `shutdown.delayMs` first): this worker waits for its word rather than draining on its own.
    this.transport.events$.subscribe((event) => {
      if (event.type === 'shutdown' && event.node === this.self.node) clearTimeout(this.ownSignalTimer);
    });
    // SIGHUP means "rolling restart" to the primary; its default action would kill the worker.
    this.stopping.listen('SIGHUP', () => undefined);

    // Before the app exists: Nest creates its socket.io servers while it initializes. The slot is read
    // at each new session, so a standby's sessions carry the slot it took.
    if (this.options.sticky === 'sid') this.sessionIds = await nameSessionsAfterSlot(() => this.self.slot);
    // Before the app: what it sends while it starts can reach other nodes, and once they hear this
    // worker is ready, what they write to it on its lane is heard.
    await laneUp(this.transport);
    try {
      this.started = await createApp(module, this.options, this.transport);
      if (this.standingBy) this.listeningAhead = await prepareStandby(this.started, this.options);
    } catch (error) {
      this.failedToStart(error);
    }
    // Asked to stop while booting: nothing was served yet, close what the boot opened.
    if (this.stopping.closing) await this.exitAfterClose();
    if (this.standingBy) {
      // A standby's boot is over: what it prints from now on is no boot log.
      this.markBootDone();
      this.booting = false;
      this.channel!.standby(this.listeningAhead);
      // `bootstrapClustered` resolves once this worker serves, as any worker's does.
      await new Promise<void>((resolve) => (this.onPromoted = resolve));
    } else {
      await this.serve();
    }
    return this.started!.app;
  }

  /** The app listens, then the primary hears this worker is ready. */
  private async serve(): Promise<void> {
    let notes: ReadyNotes;
    try {
      await listenApp(this.started!, this.options);
      notes = await this.startupNotes(this.started!.app);
    } catch (error) {
      this.failedToStart(error);
    }
    // Asked to stop while it started listening.
    if (this.stopping.closing) await this.exitAfterClose();
    this.markBootDone();
    this.booting = false;
    this.channel!.ready(notes);
  }

  /**
   * The primary reads this worker's output and its channel apart: the mark tells it, in the output
   * itself, which lines came before the worker was ready (its boot log). Once: a standby marks the end
   * of its boot when it stands by, not again when it takes a slot.
   */
  private markBootDone(): void {
    if (this.bootMarked || process.env[WORKER_LOGS_ENV] !== 'tagged') return;
    this.bootMarked = true;
    process.stdout.write(`${WORKER_READY_MARK}\n`);
  }

  /**
   * This standby takes `slot`: its identity says the slot from now on (the transport, `ClusterService`,
   * the logger, `CLUSTER_WORKER_SLOT`), before anything else, as a standby that listens already may be
   * handed a connection right after; it joins the lane to other nodes if there is one; one that did not
   * listen yet listens and says it is ready, as any worker.
   */
  private async promote(slot: number): Promise<void> {
    if (!this.standingBy || this.stopping.closing || !this.onPromoted) return;
    (this.self as { slot: number }).slot = slot;
    process.env[WORKER_SLOT_ENV] = String(slot);
    this.logger = new Logger(`ClusterWorker#${slot}`);
    this.booting = !this.listeningAhead;
    const lane = await loadMessageLane(this.options, this.self, this.logger);
    if (lane) this.transport!.useLane(lane);
    if (!this.listeningAhead) {
      await laneUp(this.transport);
      await this.serve();
    }
    this.onPromoted();
  }

  private failedToStart(error: unknown): never {
    this.logger.error(`failed to start: ${describeError(error)}`);
    process.exit(EXIT_CODES.startFailed);
  }

  /**
   * What the started app does that a clustered app may not mean to: said here for this worker alone
   * (gateways whose sessions the sticky listener cannot route), or noted for the primary to say once
   * for the whole cluster (jobs that will run on every worker).
   */
  private async startupNotes(app: ClusteredApp): Promise<ReadyNotes> {
    if (this.options.sticky === 'sid') {
      const unrouted = gatewaysWithoutSlotIds(app, this.sessionIds);
      if (unrouted.length > 0) {
        this.logger.warn(
          `sticky "sid": the sessions of ${unrouted.join(', ')} do not carry this worker's slot (no socket.io server made by ` +
            `@nestjs/platform-socket.io's IoAdapter), so clients that start by polling will meet "Session ID unknown": ` +
            `use ClusterIoAdapter from nestjs-cluster/socket.io, or sticky "ip"`,
        );
      }
    }
    const { perWorkerJobs, workers } = this.options;
    return perWorkerJobs || workers < 2 ? {} : { everyWorkerJobs: await everyWorkerJobs(app) };
  }

  private onTerminalSignal(signal: NodeJS.Signals): void {
    if (this.stopping.closing || this.ownSignalTimer || this.transport?.state().stopping) return;
    this.ownSignalTimer = setTimeout(() => {
      void this.drain(`${signal} sent to this worker alone`);
    }, OWN_SIGNAL_GRACE_MS);
    this.ownSignalTimer.unref();
  }

  /**
   * Idempotent: finishes in-flight work through `app.close()`, then exits 0 (`drainFailed` if it
   * could not drain cleanly). With `handOff`, open TCP connections go to the replacement instead of
   * being closed.
   */
  private async drain(reason: string, handOff = false): Promise<void> {
    if (this.stopping.begin(reason) !== 'started') return;
    this.handOff = handOff;
    this.transport?.beginDraining();
    clearTimeout(this.ownSignalTimer);
    this.logger.log(`draining (${reason})`);
    // Still booting: start() (or the promotion) notices the flag once the step ends.
    if (this.booting) return;
    await this.exitAfterClose();
  }

  private async exitAfterClose(): Promise<never> {
    const handOff = this.handOff ? this.channel!.handConnection.bind(this.channel) : undefined;
    const { clean } = this.started ? await closeApp(this.started, this.logger, drainDeadline(this.options), handOff) : { clean: true };
    // Replies of the drain written on the lane leave before the process does.
    await this.transport?.close().catch(() => undefined);
    process.exit(clean ? EXIT_CODES.clean : EXIT_CODES.drainFailed);
  }
}
