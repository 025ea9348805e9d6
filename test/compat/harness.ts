/**
 * What the compatibility suite runs: commands (npm, npx tsc, node), Node binaries from the npm registry,
 * and a user's clustered app started as `node dist/main.js`, whose primary prints its events as JSON
 * lines (`{"primaryEvent": ...}`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** stdout and stderr interleaved as they came. */
  output: string;
}

/** The environment of what the suite starts: Jest's NODE_OPTIONS and the cluster's settings left out. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // Jest's --experimental-vm-modules is nobody else's business
  for (const key of Object.keys(env)) if (key.startsWith('CLUSTER_')) delete env[key];
  delete env.PORT;
  return { ...env, NO_COLOR: '1', ...extra };
}

/** Process groups of the commands running now. */
const running = new Set<number>();

/** Kills every command still running (the suite is over: an install nobody waits for any more). */
export function stopRunningCommands(): void {
  for (const pgid of running) killGroup(pgid);
}

/**
 * Runs a command to its end, in its own process group so that a timeout kills everything it started
 * (npm's children too). Resolves with the exit and the output, whatever the exit code.
 */
export function runCommand(command: string, args: readonly string[], { cwd, timeoutMs }: { cwd: string; timeoutMs: number }): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    if (child.pid) running.add(child.pid);
    let stdout = '';
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      output += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => {
      output += `\n[compat] ${command} ${args.join(' ')} still running after ${timeoutMs} ms: killed\n`;
      killGroup(child.pid!);
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      running.delete(child.pid!);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child.pid!);
      resolve({ code, signal, stdout, output });
    });
  });
}

/** Throws with the command's whole output unless it exited 0. */
export async function mustSucceed(what: string, command: string, args: readonly string[], options: { cwd: string; timeoutMs: number }) {
  const result = await runCommand(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${what} failed (\`${command} ${args.join(' ')}\` in ${options.cwd}: exit ${result.code ?? result.signal}):\n${result.output.trim()}`,
    );
  }
  return result;
}

export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // nothing left
  }
}

/** `v22.12.0`, or undefined when the binary does not run. */
async function versionOf(binary: string): Promise<string | undefined> {
  if (!existsSync(binary)) return undefined;
  const result = await runCommand(binary, ['--version'], { cwd: process.cwd(), timeoutMs: 30_000 }).catch(() => undefined);
  return result?.code === 0 ? result.stdout.trim() : undefined;
}

/**
 * A Node binary of this major: the one running the suite when it is of that major, else the one the npm
 * registry ships in `node-<platform>-<arch>@<major>`, installed once under `cacheDir` and reused while it
 * runs. It is installed beside and then renamed into place, so that a run stopped halfway leaves nothing
 * half-installed to reuse.
 */
export async function nodeBinary(major: number, cacheDir: string): Promise<{ path: string; version: string }> {
  if (process.versions.node.split('.')[0] === String(major)) return { path: process.execPath, version: process.version };
  const pkg = `node-${process.platform}-${process.arch}`;
  const prefix = join(cacheDir, `node${major}`);
  const path = join(prefix, 'node_modules', pkg, 'bin', 'node');
  let version = await versionOf(path);
  if (!version?.startsWith(`v${major}.`)) {
    const staging = `${prefix}.${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    await mustSucceed(`installing Node ${major}`, 'npm', ['install', '--prefix', staging, '--no-audit', '--no-fund', `${pkg}@${major}`], {
      cwd: cacheDir,
      timeoutMs: 300_000,
    });
    rmSync(prefix, { recursive: true, force: true });
    renameSync(staging, prefix);
    version = await versionOf(path);
  }
  if (!version?.startsWith(`v${major}.`)) throw new Error(`${pkg}@${major} installed, but ${path} is not a Node ${major} binary (${version})`);
  return { path, version };
}

/** An event of the primary, as main.ts prints it. */
export interface PrimaryEvent {
  type: string;
  [key: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * `node dist/main.js` (or `nest start --watch`) in a project, detached (its own process group, so that a failed test can kill the
 * whole group, never anything by name), with the output kept and the primary's events parsed.
 */
export class UserCluster {
  readonly lines: string[] = [];
  readonly events: PrimaryEvent[] = [];
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly child: ChildProcess,
    /** The primary's control socket, for the `nestjs-cluster` command. */
    readonly controlSocket: string,
  ) {
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        if (line.startsWith('{"primaryEvent":')) this.events.push((JSON.parse(line) as { primaryEvent: PrimaryEvent }).primaryEvent);
        for (const wake of this.waiters) wake();
      });
    }
    // 'close': the process exited and its output, which its workers share, is read to the end.
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exit = { code, signal };
        for (const wake of this.waiters) wake();
        resolve(this.exit);
      });
    });
  }

  /**
   * Starts `node dist/main.js` in `cwd`. Its control socket is one of its own (by port): the same
   * project runs on two Node versions at once.
   */
  static start(node: string, cwd: string, port: number): UserCluster {
    return UserCluster.run(node, ['dist/main.js'], cwd, port);
  }

  /**
   * `nest start --watch` in `cwd`, the project's own CLI (the `node_modules/.bin/nest` that `npx nest`
   * runs, without npm's process between: the pid is the CLI's, its exit code the one the test checks).
   * The Nest CLI compiles, runs `node dist/main` (the Node on the PATH), and on every change of a source
   * stops that process's tree and runs it again.
   */
  static nestStartWatch(cwd: string, port: number): UserCluster {
    return UserCluster.run(join(cwd, 'node_modules', '.bin', 'nest'), ['start', '--watch'], cwd, port);
  }

  private static run(command: string, args: readonly string[], cwd: string, port: number): UserCluster {
    const controlSocket = join(cwd, `control-${port}.sock`);
    const env = childEnv({ PORT: String(port), CLUSTER_CONTROL_SOCKET: controlSocket });
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    return new UserCluster(child, controlSocket);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get exitStatus(): Exit | undefined {
    return this.exit;
  }

  signal(signal: NodeJS.Signals): void {
    process.kill(this.pid, signal);
  }

  /** A signal to every process of the group, as Ctrl-C in a terminal sends SIGINT. */
  signalGroup(signal: NodeJS.Signals): void {
    process.kill(-this.pid, signal);
  }

  killGroup(): void {
    killGroup(this.pid);
  }

  output(): string {
    return this.lines.join('\n');
  }

  /**
   * What Node printed as warnings (`(node:123) ExperimentalWarning: ...`, `(node:123) [DEP0040] ...`),
   * and Nest's log lines of level WARN or ERROR: none is expected.
   */
  warnings(): string[] {
    return this.lines.filter((line) => /^\(node:\d+\) /.test(line) || /^\[Nest\] \d+ .* (WARN|ERROR) /.test(line));
  }

  /** Resolves with the first event of the primary (past or future) that `match` accepts. */
  waitForEvent(match: (event: PrimaryEvent) => boolean, what: string, timeoutMs: number): Promise<PrimaryEvent> {
    return this.waitFor(() => this.events.find(match), what, timeoutMs);
  }

  /** Resolves with the exit, rejects if it has not come within `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<Exit> {
    return this.waitFor(() => this.exit, 'the exit', timeoutMs, false);
  }

  private waitFor<T>(check: () => T | undefined, what: string, timeoutMs: number, failOnExit = true): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const wake = (): void => {
        const value = check();
        if (value !== undefined) {
          cleanup();
          resolve(value);
        } else if (failOnExit && this.exit) {
          cleanup();
          reject(new Error(`the process exited (${JSON.stringify(this.exit)}) before ${what}`));
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
