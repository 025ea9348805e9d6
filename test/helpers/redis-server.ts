import { spawnSync } from 'node:child_process';
import { BrokerProcess } from './broker-process.js';

/** A redis-server of the test's own (see `BrokerProcess`), keeping nothing on disk. */
export class RedisServer extends BrokerProcess {
  /** `extra`: more `redis-server` arguments, e.g. `['--client-output-buffer-limit', 'pubsub 256kb 128kb 1']`. */
  static async start(extra: readonly string[] = []): Promise<RedisServer> {
    const broker = {
      command: 'redis-server',
      install: 'redis-server',
      args: (port: number) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra],
    };
    const server = new RedisServer(await BrokerProcess.freePortFor(broker), broker);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
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
}
