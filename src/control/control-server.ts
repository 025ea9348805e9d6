import type { Logger } from '@nestjs/common';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { describeError } from '../common/describe-error.js';
import type { WorkerLogLine } from '../primary/worker-logs.js';
import type { ControlPaths } from './control-paths.js';
import {
  MAX_REQUEST_BYTES,
  readRequest,
  type ControlErrorCode,
  type ControlReload,
  type ControlScale,
  type ControlReply,
  type ControlRequest,
  type ControlStatus,
  type ControlWorker,
} from './control-protocol.js';

/** What the control socket asks of the primary. */
export interface ControlTarget {
  status(): Promise<ControlStatus>;
  /** A rolling restart of every worker; resolves once it is done or aborted. */
  reload(): Promise<ControlReply<ControlReload>>;
  /** Changes the worker count (`Supervisor.scale`); resolves once the new workers are ready or the removed ones exited. */
  scale(workers: string): Promise<ControlReply<ControlScale>>;
  /**
   * The last `lines` lines the workers wrote (of `slot`, or of all), oldest first, and, with `follow`, a
   * way to hear the next ones; `undefined` when the workers' output is not kept (`logs: 'inherit'`).
   */
  logs(
    slot: number | undefined,
    lines: number,
  ): { readonly last: readonly WorkerLogLine[]; follow(listener: (line: WorkerLogLine) => void): () => void } | undefined;
  /** Begins the graceful shutdown (the answer comes with the exit code, `ControlServer.stopped`). */
  stop(): void;
}

/** A client that sends nothing within this time is dropped. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The primary's control socket, for the `nestjs-cluster` command. A Unix socket (0600, in a 0700
 * folder) and a random token in a file beside it (0600), compared in constant time: Node cannot read
 * the peer's uid, so the token is what proves the caller may read the owner's files. A socket another
 * live primary listens on is never taken over; a stale one is replaced. Both files go at exit.
 */
export class ControlServer {
  private readonly stopping = new Set<Socket>();
  /** Callers following the workers' lines (`logs --follow`): ended when the cluster stops. */
  private readonly tailing = new Set<Socket>();
  private readonly removeAtExit = (): void => this.removeFiles();

  private constructor(
    private readonly paths: ControlPaths,
    private readonly server: Server,
    private readonly token: Buffer,
  ) {
    process.once('exit', this.removeAtExit);
  }

  /** Listens at `paths`; `undefined` (said in the log) when it cannot, and the cluster goes on without it. */
  static async open(paths: ControlPaths, target: ControlTarget, logger: Logger): Promise<ControlServer | undefined> {
    try {
      prepareFolder(paths);
      if (await answers(paths.socket)) {
        logger.warn(
          `another primary already listens on the control socket ${paths.socket}: this one runs without one (set CLUSTER_CONTROL_SOCKET to another path, or CLUSTER_NAME)`,
        );
        return undefined;
      }
      // Nobody answers there: a socket left by a primary that died, replaced. Anything else is not ours to remove.
      if (exists(paths.socket) && !lstatSync(paths.socket).isSocket()) throw new Error(`${paths.socket} exists and is not a socket`);
      for (const stale of [paths.socket, paths.token]) removeIfPresent(stale);
      const token = randomBytes(32).toString('hex');
      writeFileSync(paths.token, `${token}\n`, { mode: 0o600, flag: 'wx' });
      const server = createServer();
      const control = new ControlServer(paths, server, digest(token));
      server.on('connection', (socket) => control.serve(socket, target));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(paths.socket, () => {
          server.off('error', reject);
          resolve();
        });
      });
      chmodSync(paths.socket, 0o600);
      server.on('error', (error) => logger.error(`control socket: ${describeError(error)}`));
      logger.log(`control socket: ${paths.socket} (the nestjs-cluster command)`);
      return control;
    } catch (error) {
      logger.warn(`no control socket at ${paths.socket}: ${describeError(error)}`);
      removeIfPresent(paths.token);
      return undefined;
    }
  }

  /** The cluster stopped with `code`: `stop` callers hear it, then the socket and token go. */
  async stopped(code: number): Promise<void> {
    await Promise.all([...this.stopping].map((socket) => reply(socket, { ok: true, result: { code } })));
    for (const socket of this.tailing) socket.end();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.removeFiles();
    process.off('exit', this.removeAtExit);
  }

  private serve(socket: Socket, target: ControlTarget): void {
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', () => undefined);
    let received = '';
    const onData = (chunk: Buffer): void => {
      received += chunk.toString('utf8');
      const end = received.indexOf('\n');
      if (end < 0 && received.length <= MAX_REQUEST_BYTES) return;
      socket.off('data', onData);
      socket.setTimeout(0);
      if (end < 0) return void reply(socket, failure('bad-request', `the request is longer than ${MAX_REQUEST_BYTES} bytes`));
      void this.answer(socket, readRequest(received.slice(0, end)), target);
    };
    socket.on('data', onData);
  }

  private async answer(socket: Socket, request: ControlRequest | string, target: ControlTarget): Promise<void> {
    if (typeof request === 'string') return reply(socket, failure('bad-request', request));
    if (!timingSafeEqual(digest(request.token), this.token)) return reply(socket, failure('bad-token', 'the token does not match this cluster'));
    try {
      switch (request.verb) {
        case 'status':
          return await reply(socket, { ok: true, result: await target.status() });
        case 'describe': {
          const status = await target.status();
          const processes = status.processes.filter((p: ControlWorker) => p.slot === request.slot);
          if (processes.length === 0) {
            return await reply(socket, failure('no-such-slot', `no worker in slot ${request.slot} (slots 0 to ${status.workers - 1})`));
          }
          return await reply(socket, { ok: true, result: { node: status.node, slot: request.slot, processes } });
        }
        case 'reload':
          return await reply(socket, await target.reload());
        case 'scale':
          return await reply(socket, await target.scale(request.workers!));
        case 'logs':
          return this.logs(socket, request, target);
        case 'stop':
          // Answered with the exit code once the cluster has stopped.
          this.stopping.add(socket);
          socket.once('close', () => this.stopping.delete(socket));
          return target.stop();
      }
    } catch (error) {
      return reply(socket, failure('aborted', describeError(error)));
    }
  }

  /** The last lines in one answer; with `follow`, then one `{ line }` per new line until the caller leaves. */
  private logs(socket: Socket, { slot, lines = 100, follow = false }: ControlRequest, target: ControlTarget): Promise<void> {
    const logs = target.logs(slot, lines);
    if (!logs) return reply(socket, failure('unavailable', "the workers' output is not kept: this cluster runs with logs: 'inherit' (CLUSTER_LOGS)"));
    if (!follow) return reply(socket, { ok: true, result: { lines: logs.last } });
    socket.write(`${JSON.stringify({ ok: true, result: { lines: logs.last } })}\n`);
    const stop = logs.follow((line) => {
      if (slot === undefined || line.slot === slot) socket.write(`${JSON.stringify({ line })}\n`);
    });
    this.tailing.add(socket);
    socket.once('close', () => {
      stop();
      this.tailing.delete(socket);
    });
    return Promise.resolve();
  }

  private removeFiles(): void {
    for (const path of [this.paths.socket, this.paths.token]) removeIfPresent(path);
  }
}

function failure(code: ControlErrorCode, message: string): ControlReply<never> {
  return { ok: false, error: { code, message } };
}

function reply(socket: Socket, body: ControlReply): Promise<void> {
  return new Promise((resolve) => socket.end(`${JSON.stringify(body)}\n`, () => resolve()));
}

/** Equal lengths whatever the token sent, so `timingSafeEqual` never throws and says nothing by its time. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * The library's own folder is created 0700; found already there, it must be this user's and closed to
 * others, or someone else could have put a socket in it. A folder the user named is the user's choice.
 */
function prepareFolder({ folder, ownFolder }: ControlPaths): void {
  if (!ownFolder) return;
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const stat = lstatSync(folder);
  const uid = process.getuid?.();
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o077) !== 0) {
    throw new Error(`${folder} must be a folder of this user (uid ${uid}) that others cannot open (mode 0700)`);
  }
}

/** Whether a process answers at `path` (a live socket); a stale file or none does not. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Not there: nothing to remove.
  }
}
