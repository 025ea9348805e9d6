import type { Readable } from 'node:stream';
import { WORKER_LOGS_ENV, WORKER_READY_MARK } from '../cluster.constants.js';
import type { BootLogMode } from '../interfaces/bootstrap-options.interface.js';
import type { WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import { isLoud, LineSplitter, MAX_LINE_CHARS, slotTag, tagLine } from './log-lines.js';

/** One line a worker wrote, as the primary keeps it. */
export interface WorkerLogLine {
  readonly slot: number;
  readonly pid: number;
  readonly stream: 'stdout' | 'stderr';
  /** When the primary read it (ms since the epoch). */
  readonly at: number;
  /** The line as the worker wrote it, without its tag. */
  readonly line: string;
  /** Its place among the lines of every worker, in the order the primary read them. */
  readonly seq: number;
}

/** Where relayed lines are written: the primary's own streams, or a test's. */
export interface LogSinks {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

export interface WorkerLogsOptions {
  readonly bootLogs: BootLogMode;
  /** Lines kept per slot for `lines()`. */
  readonly keepLines?: number;
  /** Boot lines held per worker until it is ready; the oldest go first past it. */
  readonly holdLines?: number;
  readonly maxLine?: number;
  /** How long a pipe is left unread after a small read (see `ReadPacing`); 0 reads every write as it comes. */
  readonly batchMs?: number;
}

/** The last lines of each slot, kept by the primary (the `logs` command of the operator will read them). */
export const KEPT_LINES_PER_SLOT = 1_000;
/** A Nest boot log is some tens of lines; a worker printing more before it is ready keeps its last ones. */
export const HELD_BOOT_LINES = 1_000;

/**
 * A worker that logs a line per request writes one line at a time. Read as they come, each line costs
 * the primary a wake-up, a read and a write; left this long in the pipe (the kernel holds 64 KiB), the
 * lines of every worker come tens at a time, in one wake-up. What the relay costs goes with its
 * wake-ups more than with its lines (measured on 2 busy cores, 3,000 lines a second from 2 workers:
 * 21 us of the primary's CPU a line at 5 ms, 15 at 10 ms, 10 at 20 ms, 7 at 40 ms). Lines are that
 * much later, at most; a worker writing faster than the pipe holds in that time is read on at once.
 */
export const READ_BATCH_MS = 20;
/** A read at least this big says the pipe fills fast: read on at once. */
const SMALL_READ_BYTES = 16_384;

/** The libuv handle under a pipe's `net.Socket`: what pausing its reads needs. */
interface PipeHandle {
  reading?: boolean;
  readStop(): number;
  readStart(): number;
}

/** The handle under `stream` when its reads can be paused and resumed, else `undefined` (read as it comes). */
function pipeHandle(stream: Readable): PipeHandle | undefined {
  const handle = (stream as unknown as { _handle?: Partial<PipeHandle> })._handle;
  return typeof handle?.readStop === 'function' && typeof handle.readStart === 'function' ? (handle as PipeHandle) : undefined;
}

/**
 * Reads the workers' pipes in batches, all together: after a small read, a pipe's handle stops reading
 * (the next lines wait in the kernel's pipe buffer, not in this process), and one timer for every pipe
 * starts them all again `ms` later. The pipes are then read in the same turn of the event loop, and
 * their lines go out in one write per stream (`BatchedSink`). `stream.pause()` would not do: the socket
 * keeps reading into its own buffer, one wake-up per write of the worker. The handle's `reading` flag
 * stays set meanwhile, so that the socket does not restart it on its own.
 */
class ReadPacing {
  private timer: NodeJS.Timeout | undefined;
  private readonly stopped = new Map<PipeHandle, Readable>();

  constructor(private readonly ms: number) {}

  afterRead(stream: Readable, handle: PipeHandle | undefined, bytes: number): void {
    if (!handle || this.ms <= 0 || bytes >= SMALL_READ_BYTES || handle.reading !== true || this.stopped.has(handle)) return;
    if (handle.readStop() !== 0) return;
    this.stopped.set(handle, stream);
    this.timer ??= setTimeout(this.resume, this.ms);
  }

  /** The stream ended: nothing to resume. */
  forget(handle: PipeHandle | undefined): void {
    if (!handle || !this.stopped.delete(handle) || this.stopped.size > 0) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly resume = (): void => {
    this.timer = undefined;
    const stopped = [...this.stopped];
    this.stopped.clear();
    for (const [handle, stream] of stopped) if (!stream.destroyed && handle.readStart() !== 0) stream.destroy();
  };
}

/**
 * One of the primary's streams, written once per turn of the event loop: the whole lines every relay
 * read in that turn, in one write. A write costs a system call whatever its size; lines are never cut,
 * so they still come out whole.
 */
class BatchedSink {
  private pending = '';

  constructor(private readonly sink: { write(text: string): unknown }) {}

  write(text: string): void {
    if (this.pending === '') setImmediate(this.flush);
    this.pending += text;
  }

  readonly flush = (): void => {
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.sink.write(text);
  };
}

/** A fixed-size ring of the latest lines of one slot. */
class LineRing {
  /** Shared by the rings of one primary: lines of different slots sort by it. */
  static seq = 0;
  private readonly entries: WorkerLogLine[] = [];
  private next = 0;

  constructor(
    private readonly capacity: number,
    /** Hears each line as it is kept (a live tail). */
    private readonly kept: (entry: WorkerLogLine) => void,
  ) {}

  push(entry: WorkerLogLine): void {
    if (this.entries.length < this.capacity) this.entries.push(entry);
    else this.entries[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    this.kept(entry);
  }

  /** Oldest first. */
  all(): WorkerLogLine[] {
    return this.entries.length < this.capacity ? [...this.entries] : [...this.entries.slice(this.next), ...this.entries.slice(0, this.next)];
  }
}

/**
 * The workers' output, relayed by the primary (`logs: 'tagged'`): each worker's stdout and stderr are
 * cut into whole lines, tagged with the slot, and written to the primary's stdout and stderr whole
 * lines at a time (every line read in one turn of the event loop in one write), so lines of different
 * workers never mix. The last lines of each slot are
 * kept. With `bootLogs: 'first'`, what a worker prints on stdout before it is ready is held (a Nest
 * boot log per worker says nothing new), dropped once it is ready, and shown if it never gets there;
 * the first worker's is shown as it comes, and stderr and warning or error lines always are.
 *
 * A worker says it is ready on its stdout itself (`WORKER_READY_MARK`, written just before it tells the
 * primary on its channel): the two do not arrive in order, the mark and the lines around it do.
 */
export class WorkerLogs {
  private readonly rings = new Map<number, LineRing>();
  private readonly followers = new Set<(line: WorkerLogLine) => void>();
  private readonly reading = new Set<Promise<void>>();
  /** The relays of each live worker (stdout first), by node:cluster id, until it exited. */
  private readonly relays = new Map<number, StreamRelay[]>();
  private firstAttached = false;
  private readonly keepLines: number;
  private readonly holdLines: number;
  private readonly maxLine: number;
  private readonly pacing: ReadPacing;
  private readonly stdout: BatchedSink;
  private readonly stderr: BatchedSink;

  constructor(
    private readonly options: WorkerLogsOptions,
    sinks: LogSinks = process,
  ) {
    this.keepLines = options.keepLines ?? KEPT_LINES_PER_SLOT;
    this.holdLines = options.holdLines ?? HELD_BOOT_LINES;
    this.maxLine = options.maxLine ?? MAX_LINE_CHARS;
    this.pacing = new ReadPacing(options.batchMs ?? READ_BATCH_MS);
    this.stdout = new BatchedSink(sinks.stdout);
    this.stderr = new BatchedSink(sinks.stderr);
  }

  /**
   * What a worker's environment needs for its output to be relayed: the flag that makes it mark its
   * readiness on stdout, and colours as the primary's terminal has them (a pipe is no terminal, so
   * libraries that ask would otherwise print without).
   */
  static forkEnv(
    env: NodeJS.ProcessEnv = process.env,
    stdout: Partial<Pick<NodeJS.WriteStream, 'isTTY' | 'getColorDepth'>> = process.stdout,
  ): Record<string, string> {
    const vars: Record<string, string> = { [WORKER_LOGS_ENV]: 'tagged' };
    if (stdout.isTTY && env.FORCE_COLOR === undefined && env.NO_COLOR === undefined) {
      const depth = stdout.getColorDepth?.() ?? 4;
      vars.FORCE_COLOR = depth >= 24 ? '3' : depth >= 8 ? '2' : '1';
    }
    return vars;
  }

  /** Relays the output of a new worker until its streams end. */
  attach(identity: WorkerIdentity, stdout: Readable | null | undefined, stderr: Readable | null | undefined): void {
    const holdBoot = this.options.bootLogs === 'first' && this.firstAttached;
    this.firstAttached = true;
    const ring = this.ring(identity.slot);
    const tag = slotTag(identity.slot);
    const out = new StreamRelay(identity, 'stdout', ring, this.stdout, tag, holdBoot ? this.holdLines : 0, this.maxLine);
    const err = new StreamRelay(identity, 'stderr', ring, this.stderr, tag, 0, this.maxLine);
    if (stdout) this.follow(stdout, out);
    if (stderr) this.follow(stderr, err);
    this.relays.set(identity.id, [out, err]);
  }

  /** A warm standby took a slot: its next lines are the slot's, tagged with it. */
  promoted(identity: WorkerIdentity): void {
    for (const relay of this.relays.get(identity.id) ?? []) relay.moveTo(this.ring(identity.slot), slotTag(identity.slot));
  }

  /**
   * The worker exited. The boot lines of one that was not ready yet show if it `failed` (a crash, a
   * failed start, a ready timeout), and are dropped if it was asked to stop while it booted.
   */
  exited(identity: WorkerIdentity, failed: boolean): void {
    for (const relay of this.relays.get(identity.id) ?? []) relay.exited(failed);
    this.relays.delete(identity.id);
  }

  /**
   * The last `count` lines of `slot` (every slot when unset, in the order they were read), oldest first.
   */
  lines(slot?: number, count = this.keepLines): WorkerLogLine[] {
    const rings = slot === undefined ? [...this.rings.values()] : [this.rings.get(slot)].filter((r) => r !== undefined);
    const all = rings.flatMap((r) => r.all());
    if (slot === undefined) all.sort((a, b) => a.seq - b.seq);
    return count <= 0 ? [] : all.slice(-count);
  }

  /**
   * Resolves once every stream attached so far has been read to its end (the workers exited and their
   * last lines are out), or after `timeoutMs`: a process the worker started may hold its pipe open.
   */
  async settled(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all(this.reading), late]);
    clearTimeout(timer);
    // The primary may exit right after: what was read goes out now.
    this.stdout.flush();
    this.stderr.flush();
  }

  private follow(stream: Readable, relay: StreamRelay): void {
    const handle = pipeHandle(stream);
    const ended = new Promise<void>((resolve) => {
      const end = () => {
        this.pacing.forget(handle);
        resolve(relay.end());
      };
      stream.on('data', (chunk: Buffer) => {
        relay.push(chunk);
        this.pacing.afterRead(stream, handle, chunk.length);
      });
      stream.once('end', end);
      stream.once('close', end);
      // A read error ends the relay like an end would; the worker's exit tells the story.
      stream.once('error', end);
    });
    this.reading.add(ended);
    void ended.then(() => this.reading.delete(ended));
  }

  /** Hears every line kept from now on, until the returned function is called; the listener must not throw. */
  tail(listener: (line: WorkerLogLine) => void): () => void {
    this.followers.add(listener);
    return () => this.followers.delete(listener);
  }

  private tell(entry: WorkerLogLine): void {
    for (const follower of this.followers) follower(entry);
  }

  private ring(slot: number): LineRing {
    let ring = this.rings.get(slot);
    if (!ring) this.rings.set(slot, (ring = new LineRing(this.keepLines, (entry) => this.tell(entry))));
    return ring;
  }
}

/** One stream of one worker: lines in, tagged lines out, boot lines held while `holding`. */
class StreamRelay {
  private readonly splitter: LineSplitter;
  /** Until the ready mark: held boot lines (stdout of a worker whose boot is not shown). */
  private held: string[] | undefined;
  private heldDropped = 0;
  private marked = false;
  private ended = false;
  /** How the worker exited, once the primary knows: `true` if it failed. */
  private failed: boolean | undefined;

  constructor(
    private readonly identity: WorkerIdentity,
    private readonly stream: 'stdout' | 'stderr',
    private ring: LineRing,
    private readonly sink: { write(text: string): unknown },
    private tag: string,
    private readonly holdLines: number,
    maxLine: number,
  ) {
    this.splitter = new LineSplitter(maxLine);
    if (holdLines > 0) this.held = [];
    // Only stdout carries the mark; stderr has nothing to look for.
    if (stream === 'stderr') this.marked = true;
  }

  push(chunk: Buffer): void {
    this.write(this.splitter.push(chunk));
  }

  /**
   * The stream ended: its last line. The held boot lines of a worker that never got ready wait for
   * the verdict on its exit, which may come before or after.
   */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.write(this.splitter.end());
    this.settleHeld();
  }

  /** Its worker took a slot (a warm standby): lines from now on go to the slot's ring, with its tag. */
  moveTo(ring: LineRing, tag: string): void {
    this.ring = ring;
    this.tag = tag;
  }

  exited(failed: boolean): void {
    this.failed ??= failed;
    this.settleHeld();
  }

  private settleHeld(): void {
    if (!this.ended || this.failed === undefined || !this.held) return;
    if (this.failed) this.release();
    else this.held = undefined; // asked to stop while it booted: nothing to tell
  }

  private write(lines: string[]): void {
    if (lines.length === 0) return;
    const at = Date.now();
    const { slot, pid } = this.identity;
    let out = '';
    for (let line of lines) {
      let ready = false;
      if (!this.marked && line.endsWith(WORKER_READY_MARK)) {
        this.marked = ready = true;
        line = line.slice(0, -WORKER_READY_MARK.length);
      }
      if (!ready || line !== '') {
        this.ring.push({ slot, pid, stream: this.stream, at, line, seq: LineRing.seq++ });
        if (this.held && !isLoud(line)) this.hold(line);
        else out += `${tagLine(line, slot, this.tag)}\n`;
      }
      // Ready: its boot lines said nothing the first worker's did not.
      if (ready) this.held = undefined;
    }
    if (out !== '') this.sink.write(out);
  }

  private hold(line: string): void {
    this.held!.push(line);
    if (this.held!.length > this.holdLines) {
      this.held!.shift();
      this.heldDropped++;
    }
  }

  /** Shows the held boot lines: the worker failed to boot, they tell why. */
  private release(): void {
    const held = this.held!;
    this.held = undefined;
    const { slot } = this.identity;
    let out = this.heldDropped > 0 ? `${this.tag}(${this.heldDropped} earlier boot line(s) not kept)\n` : '';
    for (const line of held) out += `${tagLine(line, slot, this.tag)}\n`;
    if (out !== '') this.sink.write(out);
  }
}
