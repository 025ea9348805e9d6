import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './cluster-process.js';

/**
 * A nats-server of the test's own on a free port of 127.0.0.1, with JetStream in a temporary folder,
 * so a test can kill it and start it again on the same port without touching the machine's shared
 * one. There is no skipping: without nats-server the tests that need it fail, saying what to install.
 */
export class NatsServer {
  private child: ChildProcess | undefined;
  private readonly store = mkdtempSync(join(tmpdir(), 'ncl-nats-'));

  private constructor(readonly port: number) {
    // Kept across restarts (JetStream's store); gone with the test process.
    process.once('exit', () => rmSync(this.store, { recursive: true, force: true }));
  }

  static async start(): Promise<NatsServer> {
    if (spawnSync('nats-server', ['--version']).error) {
      throw new Error('nats-server was not found: install it (Debian: apt-get install -y nats-server); .ci/run does');
    }
    const server = new NatsServer(await freePort());
    await server.restart();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts it (again) on the same port; resolves once it accepts connections. */
  async restart(): Promise<void> {
    if (this.child) throw new Error('nats-server is already running');
    const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.store], { stdio: 'ignore' });
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    const deadline = Date.now() + 10_000;
    while (!(await accepts(this.port))) {
      if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${this.port} within 10 s`);
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

  /** Kills it and removes its JetStream folder. */
  async remove(): Promise<void> {
    await this.kill();
    rmSync(this.store, { recursive: true, force: true });
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
