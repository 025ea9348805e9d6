import type { Logger } from '@nestjs/common';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { ListenRequest } from '../channel/channel-to-worker.js';
import { describeError } from '../common/describe-error.js';
import type { ConnectionHanding } from './connection-handing.js';
import type { Member, SlotTable } from './slot-table.js';

/** What the port listeners tell the primary. */
export interface PortReports {
  /** A server of `member` listens (through the primary) on this address. */
  listening(member: Member, address: AddressInfo): void;
}

/**
 * The ports the workers' servers listen on, owned by the primary (`distribution: 'primary'`): where a
 * worker's server would listen through node:cluster, it asks the primary, which listens there once for
 * all the workers and hands each connection, unread, to the next ready worker whose server listens on
 * that port, in turn. `ConnectionHanding` keeps each one until the worker took it. A port stays open
 * while its workers restart: connections wait for the next ready one instead of being refused.
 */
export class PortListeners {
  private readonly ports = new Map<string, PortListener>();
  private closed = false;

  constructor(
    private readonly table: SlotTable,
    private readonly handing: ConnectionHanding,
    private readonly reports: PortReports,
    private readonly logger: Logger,
  ) {}

  /** A server of `member` listens on a port: the primary listens there (once) and answers it. */
  listen(member: Member, request: ListenRequest): void {
    const { seq, port, address, index } = request;
    // The cluster stops: nothing listens any more.
    if (this.closed) return member.channel.answerListen({ seq, error: 'ECANCELED' });
    // Several servers of one worker on port 0 get a port each; the n-th of each worker share one (as node:cluster does).
    const key = `${address ?? ''}:${port}${port === 0 ? `:${index}` : ''}`;
    let listener = this.ports.get(key);
    if (!listener) {
      listener = new PortListener(address, port, this.table, this.handing, this.logger);
      this.ports.set(key, listener);
    }
    const bound = listener;
    bound.bound.then(
      (where) => {
        if (this.table.member(member.identity.id) !== member) return; // exited meanwhile
        bound.workers.add(member);
        member.channel.answerListen({ seq, port: where.port, address: where.address, family: where.family });
        this.reports.listening(member, where);
      },
      (error: NodeJS.ErrnoException) => {
        if (this.ports.get(key) === bound) this.ports.delete(key);
        this.logger.error(
          `cannot listen on ${address ?? 'every interface'} port ${port} for worker ${member.identity.slot}: ${describeError(error)}`,
        );
        member.channel.answerListen({ seq, error: error.code ?? 'EINVAL' });
      },
    );
  }

  /** A worker exited: no more connections for it (its untaken ones are `ConnectionHanding`'s). */
  workerGone(member: Member): void {
    for (const listener of this.ports.values()) listener.workers.delete(member);
  }

  /** The cluster stops: no more connections taken. */
  close(): void {
    this.closed = true;
    for (const listener of this.ports.values()) listener.close();
    this.ports.clear();
  }
}

/** One port the primary listens on for the workers' servers. */
class PortListener {
  /** The workers whose server listens here. */
  readonly workers = new Set<Member>();
  readonly bound: Promise<AddressInfo>;
  private readonly server: Server;
  private port = 0;
  private turn = 0;

  constructor(
    address: string | null,
    port: number,
    private readonly table: SlotTable,
    private readonly handing: ConnectionHanding,
    logger: Logger,
  ) {
    // Nothing read in the primary: the kernel keeps every byte for the worker.
    this.server = createServer({ pauseOnConnect: true }, this.accept);
    this.bound = new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host: address ?? undefined }, () => {
        this.server.off('error', reject);
        this.server.on('error', (error) => logger.error(`listener on port ${this.port}: ${error.message}`));
        const where = this.server.address() as AddressInfo;
        this.port = where.port;
        resolve(where);
      });
    });
    this.bound.catch(() => undefined); // answered to the worker that asked
  }

  close(): void {
    if (this.server.listening) this.server.close();
    // Still binding: closed as soon as it listens.
    else
      this.bound.then(
        () => this.server.close(),
        () => undefined,
      );
  }

  private readonly accept = (connection: Socket): void => {
    // A client gone before it is handed on must not throw in the primary.
    connection.on('error', () => connection.destroy());
    this.handing.hand({ connection, port: this.port, pick: this.pick });
  };

  /** The next ready worker listening here, in turn. */
  private readonly pick = (refused: ReadonlySet<Member>): Member | undefined => {
    const ready = this.table.serving().filter((m) => this.workers.has(m) && !refused.has(m));
    return ready.length === 0 ? undefined : ready[this.turn++ % ready.length];
  };
}
