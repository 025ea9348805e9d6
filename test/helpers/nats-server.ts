import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProcess } from './broker-process.js';
import { freePort } from './cluster-process.js';

export interface NatsServerOptions {
  /** More of nats-server's configuration, e.g. `authorization { token: "s3cret" }`, a `tls { ... }` block or `max_pending: 262144`. */
  readonly config?: string;
  /** JetStream on (in the server's own temporary folder). @default true */
  readonly jetstream?: boolean;
  /** Serve the HTTP monitoring endpoints (`/connz`) on a port of their own. @default false */
  readonly monitor?: boolean;
  /** How clients reach it: `nats://` (the default), or `tls://` for a server with a `tls` block. */
  readonly scheme?: 'nats' | 'tls';
}

/** A connection as the server's `/connz` shows it. */
export interface NatsConnectionInfo {
  readonly cid: number;
  readonly name?: string;
  /** Why a closed connection was closed, e.g. `Slow Consumer (Pending Bytes)`. */
  readonly reason?: string;
}

/**
 * A nats-server of the test's own (see `BrokerProcess`), started from a configuration file in a
 * temporary folder that also holds its JetStream store, kept across restarts and gone with the test
 * process.
 */
export class NatsServer extends BrokerProcess {
  private constructor(
    port: number,
    private readonly store: string,
    readonly monitorPort: number | undefined,
    private readonly scheme: 'nats' | 'tls',
  ) {
    super(port, { command: 'nats-server', install: 'nats-server', args: () => ['-c', join(store, 'nats-server.conf')] });
    process.once('exit', () => rmSync(this.store, { recursive: true, force: true }));
  }

  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    const port = await BrokerProcess.freePortFor({ command: 'nats-server', install: 'nats-server', args: () => [] });
    const monitorPort = options.monitor ? await freePort() : undefined;
    const store = mkdtempSync(join(tmpdir(), 'ncl-nats-'));
    const config = [
      `listen: "127.0.0.1:${port}"`,
      monitorPort !== undefined ? `http: "127.0.0.1:${monitorPort}"` : '',
      options.jetstream === false ? '' : `jetstream { store_dir: ${JSON.stringify(store)} }`,
      options.config ?? '',
    ];
    writeFileSync(join(store, 'nats-server.conf'), config.filter(Boolean).join('\n') + '\n');
    const server = new NatsServer(port, store, monitorPort, options.scheme ?? 'nats');
    await server.restart();
    return server;
  }

  get url(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  /** The connections the server has (`open`) or closed lately (`closed`, with why), from `/connz`; needs `monitor`. */
  async connections(state: 'open' | 'closed' = 'open'): Promise<NatsConnectionInfo[]> {
    if (this.monitorPort === undefined) throw new Error('start the nats-server with monitor: true');
    const response = await fetch(`http://127.0.0.1:${this.monitorPort}/connz?state=${state}&limit=1024`);
    return ((await response.json()) as { connections?: NatsConnectionInfo[] }).connections ?? [];
  }

  /** Kills it and removes its folder. */
  async remove(): Promise<void> {
    await this.kill();
    rmSync(this.store, { recursive: true, force: true });
  }
}
