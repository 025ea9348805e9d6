import { request as httpRequest, Agent } from 'node:http';
import { connect, type Socket } from 'node:net';

/** A request's fate: answered, or failed fast (reset, closed), refused, or no sign within the deadline. */
export type Outcome = 'answered' | 'reset' | 'refused' | 'hung';

/** How long a request may wait for its answer or a reset before it counts as hung. */
export const HANG_MS = 1_000;

/** What the probes saw, by outcome, split into fresh connections and reused (keep-alive) ones. */
export class Tally {
  readonly fresh: Record<Outcome, number> = { answered: 0, reset: 0, refused: 0, hung: 0 };
  readonly reused: Record<Outcome, number> = { answered: 0, reset: 0, refused: 0, hung: 0 };
  /** The pids that answered. */
  readonly pids = new Set<number>();

  add(outcome: Outcome, fresh: boolean, pid?: number): void {
    (fresh ? this.fresh : this.reused)[outcome] += 1;
    if (pid !== undefined) this.pids.add(pid);
  }

  get hung(): number {
    return this.fresh.hung + this.reused.hung;
  }
}

/**
 * Settles once with the first outcome: `answered` by `onAnswer`, `reset`/`refused` by the error, `hung`
 * if nothing came within `HANG_MS` (the probe's connection is then destroyed).
 */
function deadline(cleanup: () => void): { settle(outcome: Outcome, pid?: number): void; done: Promise<{ outcome: Outcome; pid?: number }> } {
  let resolve!: (value: { outcome: Outcome; pid?: number }) => void;
  const done = new Promise<{ outcome: Outcome; pid?: number }>((r) => (resolve = r));
  let settled = false;
  const timer = setTimeout(() => settle('hung'), HANG_MS);
  const settle = (outcome: Outcome, pid?: number): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    cleanup();
    resolve({ outcome, pid });
  };
  return { settle, done };
}

function errorOutcome(error: NodeJS.ErrnoException): Outcome {
  return error.code === 'ECONNREFUSED' ? 'refused' : 'reset';
}

/** GET / on 127.0.0.1:`port`, on a fresh connection or on one of `agent`'s kept-alive ones. */
export function httpProbe(port: number, agent: Agent | false): Promise<{ outcome: Outcome; pid?: number }> {
  const req = httpRequest({ host: '127.0.0.1', port, path: '/', agent });
  const { settle, done } = deadline(() => undefined);
  req.on('response', (res) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => {
      try {
        settle('answered', (JSON.parse(text) as { pid: number }).pid);
      } catch {
        settle('reset');
      }
    });
    res.on('error', () => settle('reset'));
  });
  req.on('error', (error) => settle(errorOutcome(error)));
  req.end();
  void done.then(({ outcome }) => outcome === 'hung' && req.destroy());
  return done;
}

/**
 * One request of Nest's TCP transport (`{length}#{json}` frames), `whoami`, on `socket` (kept open for
 * the next one) or on a fresh connection (closed after).
 */
export function tcpProbe(port: number, socket?: Socket): { socket: Socket; result: Promise<{ outcome: Outcome; pid?: number }> } {
  const connection = socket ?? connect(port, '127.0.0.1');
  const id = String(Math.random());
  let buffer = '';
  // Frames for earlier requests on a kept connection (a late disposal notice) are skipped by their id.
  const onData = (chunk: Buffer): void => {
    buffer += chunk.toString('utf8');
    for (;;) {
      const hash = buffer.indexOf('#');
      if (hash === -1) return;
      const length = Number(buffer.slice(0, hash));
      if (buffer.length - hash - 1 < length) return;
      const packet = JSON.parse(buffer.slice(hash + 1, hash + 1 + length)) as { id?: string; response?: { pid: number }; err?: unknown };
      buffer = buffer.slice(hash + 1 + length);
      if (packet.id !== id || (packet.response === undefined && packet.err === undefined)) continue;
      return settle(packet.response ? 'answered' : 'reset', packet.response?.pid);
    }
  };
  const onError = (error: NodeJS.ErrnoException): void => settle(errorOutcome(error));
  const onClose = (): void => settle('reset');
  const { settle, done } = deadline(() => {
    connection.off('data', onData);
    connection.off('error', onError);
    connection.off('close', onClose);
  });
  connection.on('data', onData);
  connection.on('error', onError);
  connection.on('close', onClose);
  const json = JSON.stringify({ pattern: 'whoami', data: {}, id });
  connection.write(`${json.length}#${json}`);
  const result = done.then((r) => {
    if (!socket || r.outcome !== 'answered') connection.destroy();
    return r;
  });
  return { socket: connection, result };
}

/**
 * A loop's pause between two probes: a steady stream (hundreds of requests a second per loop) rather
 * than as many as the CPU allows, which would starve the other suites running beside this one.
 */
const LOOP_PAUSE_MS = 2;

/** Runs `probe` in `count` loops until `stop()` is called; resolves once every loop has ended. */
export function loops(count: number, probe: (loop: number) => Promise<void>): { stop(): Promise<void> } {
  let running = true;
  const all = Array.from({ length: count }, async (_, loop) => {
    while (running) {
      await probe(loop);
      await new Promise((resolve) => setTimeout(resolve, LOOP_PAUSE_MS));
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(all);
    },
  };
}

/** Keep-alive HTTP clients: `count` loops, each on its own kept-alive connection, GET / after GET /. */
export function httpKeepAliveLoad(port: number, count: number, tally: Tally): { stop(): Promise<void> } {
  const agents = Array.from({ length: count }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  const load = loops(count, async (loop) => {
    const agent = agents[loop]!;
    // A request on a connection the agent already holds is a reused one; the first of each is fresh.
    const fresh = Object.keys(agent.freeSockets).length === 0;
    const { outcome, pid } = await httpProbe(port, agent);
    tally.add(outcome, fresh, pid);
    if (outcome !== 'answered') await new Promise((resolve) => setImmediate(resolve));
  });
  return {
    stop: async () => {
      await load.stop();
      for (const agent of agents) agent.destroy();
    },
  };
}

/** Nest TCP clients: `count` loops, each on its own connection, reconnecting after a failure, as `ClientTCP` does. */
export function tcpKeepAliveLoad(port: number, count: number, tally: Tally): { stop(): Promise<void> } {
  const sockets: Array<Socket | undefined> = [];
  const load = loops(count, async (loop) => {
    const kept = sockets[loop];
    const { socket, result } = tcpProbe(port, kept ?? connect(port, '127.0.0.1'));
    const { outcome, pid } = await result;
    tally.add(outcome, kept === undefined, pid);
    sockets[loop] = outcome === 'answered' ? socket : undefined;
    if (outcome !== 'answered') {
      socket.destroy();
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  return {
    stop: async () => {
      await load.stop();
      for (const socket of sockets) socket?.destroy();
    },
  };
}
