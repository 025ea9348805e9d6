import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const FIXTURE_APP = fileURLToPath(new URL('../fixtures/dist/app.js', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A lifecycle event as the fixture prints it: which worker saw it, and the event. */
export interface ObservedEvent {
  observer: number;
  event: ObservedEventBody;
}

export interface ObservedEventBody {
  type: string;
  slot?: number;
  pid?: number;
  id?: number;
  code?: number | null;
  signal?: string | null;
  [k: string]: unknown;
}

/** A worker as its `ready` event names it. */
export interface ReadyWorker {
  slot: number;
  pid: number;
  id: number;
}

/** The prefix of a line a fixture's `onPrimaryEvent` prints: `PRIMARY {json}`, one event of the primary. */
export const PRIMARY_EVENT_PREFIX = 'PRIMARY ';

/** The tag the primary puts before each line of a worker (`logs: 'tagged'`, the default): `[w3] `. */
export const SLOT_TAG = /^\[w(\d+)\] /;

/** One line of output: its text without the slot tag, and the slot of the worker that wrote it if it was tagged. */
export interface OutputLine {
  readonly text: string;
  readonly slot: number | undefined;
}

/**
 * A cluster started as a user would (`node main.js`), in its own process group so the test can
 * signal the primary alone or clean up the whole group. Output lines are kept and can be waited on, and
 * so are the events the primary decided (`PRIMARY {json}`, printed by the fixtures' `onPrimaryEvent`)
 * and those the workers saw (`EVENT {json}`). `lines` are the text of each line, colours and the
 * worker's slot tag (`[w3] `) taken off, so that a test matches what the app printed; `tagged` keeps
 * the tag and the slot.
 */
export class ClusterProcess {
  readonly lines: string[] = [];
  readonly tagged: OutputLine[] = [];
  /** How the process exited, once it has and all its output (and its workers') has been read. */
  readonly exited: Promise<Exit>;
  private readonly waiters = new Set<() => void>();
  private readonly observed: ObservedEvent[] = [];
  private readonly decided: ObservedEventBody[] = [];
  private exit: Exit | undefined;

  private constructor(readonly child: ChildProcess) {
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        // eslint-disable-next-line no-control-regex
        const colourless = line.replace(/\x1b\[[0-9;]*m/g, '');
        const tag = SLOT_TAG.exec(colourless);
        const clean = tag ? colourless.slice(tag[0].length) : colourless;
        this.lines.push(clean);
        this.tagged.push({ text: clean, slot: tag ? Number(tag[1]) : undefined });
        if (clean.startsWith('EVENT ')) this.observed.push(JSON.parse(clean.slice(6)) as ObservedEvent);
        if (clean.startsWith(PRIMARY_EVENT_PREFIX)) this.decided.push(JSON.parse(clean.slice(PRIMARY_EVENT_PREFIX.length)) as ObservedEventBody);
        for (const wake of this.waiters) wake();
      });
    }
    // 'close' rather than 'exit': once the process has exited and its output (its workers' too, on the
    // same pipes) has been read to the end, so a test that reads the output after the exit sees all of it.
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exit = { code, signal };
        for (const wake of this.waiters) wake();
        resolve(this.exit);
      });
    });
  }

  /** `prefix`: a command the script runs under, e.g. `['ip', 'netns', 'exec', 'ns1']` (it must exec, keeping the pid). */
  static start(env: Record<string, string | undefined>, script = FIXTURE_APP, prefix: readonly string[] = []): ClusterProcess {
    const base = { ...process.env };
    delete base.NODE_OPTIONS; // Jest's --experimental-vm-modules is not the app's business
    delete base.CLUSTER_WORKERS;
    delete base.CLUSTER_ENABLED;
    delete base.PORT;
    const [command, ...args] = [...prefix, process.execPath, script];
    // No control socket unless a test asks for one: clusters of parallel tests would share the default one.
    const merged: Record<string, string | undefined> = { ...base, NO_COLOR: '1', CLUSTER_CONTROL_SOCKET: 'off', ...env };
    // A variable given as `undefined` is one the test wants unset.
    for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
    const child = spawn(command!, args, {
      env: merged,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    return new ClusterProcess(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** How the process exited, once it has. */
  get exitStatus(): Exit | undefined {
    return this.exit;
  }

  /** Resolves with the first line (past or future) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    return this.waitFor(() => this.lines.find((l) => pattern.test(l)), `a line matching ${pattern}`, timeoutMs);
  }

  /** Resolves once `count` lines match `pattern`, with every line matching it by then. */
  waitForLines(pattern: RegExp, count: number, timeoutMs = 30_000): Promise<string[]> {
    // Each line is looked at once, however many arrive: thousands of lines stay cheap.
    const found: string[] = [];
    let read = 0;
    return this.waitFor(
      () => {
        for (; read < this.lines.length; read++) if (pattern.test(this.lines[read]!)) found.push(this.lines[read]!);
        return found.length >= count ? found : undefined;
      },
      `${count} lines matching ${pattern}`,
      timeoutMs,
    );
  }

  /** Resolves once `predicate` holds for the events printed so far. */
  waitForEvents<T>(select: (events: ObservedEvent[]) => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
    return this.waitFor(() => select(this.events()), what, timeoutMs);
  }

  /** Every `EVENT` line printed so far, in order (an event appears once per worker that saw it). */
  events(): ObservedEvent[] {
    return [...this.observed];
  }

  /** Resolves with the first event (past or future), as any worker saw it, that `match` accepts. */
  waitForEvent(match: (event: ObservedEventBody) => boolean, what: string, timeoutMs = 30_000): Promise<ObservedEventBody> {
    return this.waitFor(() => this.observed.find((e) => match(e.event))?.event, what, timeoutMs);
  }

  /**
   * Resolves once every slot 0..count-1 has had a worker ready, with the latest such worker of each
   * slot (from the `ready` events the workers print: each worker sees its own).
   */
  waitForReady(count: number, timeoutMs = 60_000): Promise<ReadyWorker[]> {
    return this.waitFor(
      () => {
        const bySlot = new Map<number, ReadyWorker>();
        for (const { event } of this.observed) {
          if (event.type === 'ready' && event.slot! < count) bySlot.set(event.slot!, { slot: event.slot!, pid: event.pid!, id: event.id! });
        }
        return bySlot.size === count ? [...bySlot.values()].sort((a, b) => a.slot - b.slot) : undefined;
      },
      `${count} ready worker(s)`,
      timeoutMs,
    );
  }

  /** Every event the primary emitted so far (its `onPrimaryEvent`), in order; `stopped` last, once it has. */
  primaryEvents(): ObservedEventBody[] {
    return [...this.decided];
  }

  /** Resolves with the first event of the primary (past or future) that `match` accepts. */
  waitForPrimaryEvent(match: (event: ObservedEventBody) => boolean, what: string, timeoutMs = 30_000): Promise<ObservedEventBody> {
    return this.waitFor(() => this.decided.find(match), what, timeoutMs);
  }

  /** Resolves once `select` finds what it wants in the primary's events so far. */
  waitForPrimaryEvents<T>(select: (events: ObservedEventBody[]) => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
    return this.waitFor(() => select(this.primaryEvents()), what, timeoutMs);
  }

  /** Pids of the workers the primary forked so far, from its `fork` events. */
  forkedPids(): number[] {
    return this.decided.flatMap((e) => (e.type === 'fork' ? [e.pid!] : []));
  }

  signal(signal: NodeJS.Signals): void {
    process.kill(this.pid, signal);
  }

  /** Test clean-up: SIGTERM to the primary (a graceful stop), then, after `graceMs` at most, SIGKILL to what is left of the group. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.exit) this.signal('SIGTERM');
    await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    this.killGroup();
  }

  /** SIGKILLs whatever is left of the process group (test clean-up). */
  killGroup(): void {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // nothing left
    }
  }

  output(): string {
    return this.lines.join('\n');
  }

  private waitFor<T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = (): boolean => {
        const value = check();
        if (value === undefined) return false;
        cleanup();
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; output:\n${this.output()}`));
      }, timeoutMs);
      const wake = (): void => {
        if (done()) return;
        if (this.exit) {
          cleanup();
          reject(new Error(`process exited (${JSON.stringify(this.exit)}) before ${what}; output:\n${this.output()}`));
        }
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
      };
      this.waiters.add(wake);
      wake();
    });
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** GET on 127.0.0.1 with a fresh connection each time (no keep-alive), JSON-decoded. */
export function get(port: number, path = '/', timeoutMs = 10_000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls an HTTP endpoint that answers a worker's `ClusterService.workers()` (an array, or an object with
 * `workers`) until it lists `count` ready workers; resolves with them by slot. Connection errors (nobody
 * listens yet) count as not yet.
 */
export async function pollReady(
  port: number,
  count: number,
  { path = '/workers', timeoutMs = 60_000, app }: { path?: string; timeoutMs?: number; app?: ClusterProcess } = {},
): Promise<ReadyWorker[]> {
  const started = Date.now();
  for (;;) {
    if (app?.exitStatus)
      throw new Error(`process exited (${JSON.stringify(app.exitStatus)}) before ${count} worker(s) were ready; output:\n${app.output()}`);
    try {
      const { body } = await get(port, path, 2_000);
      const workers = (Array.isArray(body) ? body : body?.workers) as Array<ReadyWorker & { state: string }> | undefined;
      const ready = (workers ?? []).filter((w) => w.state === 'ready');
      if (ready.length >= count) return ready.map(({ slot, pid, id }) => ({ slot, pid, id })).sort((a, b) => a.slot - b.slot);
    } catch {
      // not listening yet
    }
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${count} ready worker(s) on ${path}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether a process with this pid runs (a zombie waiting to be reaped counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Pids of running processes in the process group `pgid` (zombies left out). */
export function groupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return fields[0] !== 'Z' && Number(fields[2]) === pgid;
      } catch {
        return false;
      }
    });
}

/** Polls a condition that has no event to wait on (a process's death seen from outside). */
export async function until(check: () => boolean, what: string, timeoutMs: number, everyMs = 20): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return Date.now() - started;
}
