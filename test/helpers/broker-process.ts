import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { freePort } from './cluster-process.js';

/** How to run one broker's server: its command, the arguments for a port, and what to install without it. */
export interface BrokerCommand {
  readonly command: string;
  /** The arguments that make it listen on `port` of 127.0.0.1, keeping what the test needs and no more. */
  args(port: number): readonly string[];
  /** The Debian package that has it, for the error when it is missing. */
  readonly install: string;
}

/**
 * A broker server (redis-server, nats-server) of the test's own on a free port of 127.0.0.1, so a test
 * can kill it and start it again on the same port without touching the machine's shared one. There is
 * no skipping: without the server the tests that need it fail, saying what to install.
 */
export class BrokerProcess {
  private child: ChildProcess | undefined;

  protected constructor(
    readonly port: number,
    private readonly broker: BrokerCommand,
  ) {}

  /** A free port, once `broker.command` is known to run here. */
  protected static async freePortFor(broker: BrokerCommand): Promise<number> {
    if (spawnSync(broker.command, ['--version']).error) {
      throw new Error(`${broker.command} was not found: install it (Debian: apt-get install -y ${broker.install}); .ci/run does`);
    }
    return freePort();
  }

  /** The server's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts it (again) on the same port; resolves once it accepts connections. */
  async restart(): Promise<void> {
    if (this.child) throw new Error(`${this.broker.command} is already running`);
    const child = spawn(this.broker.command, [...this.broker.args(this.port)], { stdio: 'ignore' });
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    const deadline = Date.now() + 10_000;
    while (!(await accepts(this.port))) {
      if (Date.now() > deadline) throw new Error(`${this.broker.command} did not listen on ${this.port} within 10 s`);
      if (!this.child) throw new Error(`${this.broker.command} exited before it listened on ${this.port}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
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

/** Whether something accepts TCP connections on `port` of 127.0.0.1. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
