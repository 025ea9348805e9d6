import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { freePort } from './cluster-process.js';

/**
 * A redis-server of the test's own on a free port of 127.0.0.1, keeping nothing on disk, so a test
 * can kill it and start it again on the same port without touching the machine's shared Redis.
 * There is no skipping: without redis-server the tests that need it fail, saying what to install.
 */
export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    /** More `redis-server` arguments, e.g. `['--client-output-buffer-limit', 'pubsub 256kb 128kb 1']`. */
    private readonly extra: readonly string[],
  ) {}

  static async start(extra: readonly string[] = []): Promise<RedisServer> {
    if (spawnSync('redis-server', ['--version']).error) {
      throw new Error('redis-server was not found: install it (Debian: apt-get install -y redis-server); .ci/run does');
    }
    const server = new RedisServer(await freePort(), extra);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it (again) on the same port; resolves once it accepts connections. */
  async restart(): Promise<void> {
    if (this.child) throw new Error('redis-server is already running');
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.extra], {
      stdio: 'ignore',
    });
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    const deadline = Date.now() + 10_000;
    while (!(await accepts(this.port))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${this.port} within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The connections Redis has now (`CLIENT LIST`): each one's id and the name its client gave it. */
  clients(): Array<{ id: string; name: string }> {
    const listed = spawnSync('redis-cli', ['-p', String(this.port), 'client', 'list'], { encoding: 'utf8' });
    if (listed.status !== 0) throw new Error(`redis-cli client list failed: ${listed.stderr}`);
    return listed.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => Object.fromEntries(line.split(' ').map((field) => field.split('=', 2) as [string, string])))
      .map((fields) => ({ id: fields.id!, name: fields.name ?? '' }));
  }

  /** SIGKILLs it, as a crash would; resolves once it is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
