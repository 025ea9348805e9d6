import { createHash, randomBytes } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { io, type Socket } from 'socket.io-client';

/** Who answered a client: the worker holding its session. */
export interface Holder {
  pid: number;
  slot: number;
}

/**
 * A socket.io client on 127.0.0.1, connected (polling first, then upgraded, as browsers do).
 * `localAddress`: the address it connects from (any of 127/8 on Linux), for polling and WebSocket alike.
 */
export function connectClient(
  port: number,
  { reconnection = false, timeoutMs = 10_000, localAddress }: { reconnection?: boolean; timeoutMs?: number; localAddress?: string } = {},
): Promise<Socket> {
  const from = localAddress && { localAddress, agent: new HttpAgent({ localAddress }) as unknown as string };
  const socket = io(`http://127.0.0.1:${port}`, {
    ...from,
    forceNew: true,
    reconnection,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    randomizationFactor: 0,
    timeout: timeoutMs,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      if (!reconnection) {
        socket.close();
        reject(error);
      }
    });
  });
}

/** Resolves once the client's transport is a WebSocket. */
export function upgraded(socket: Socket, timeoutMs = 10_000): Promise<void> {
  const engine = socket.io.engine;
  if (engine.transport.name === 'websocket') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no upgrade to websocket')), timeoutMs);
    engine.once('upgrade', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export function whoami(socket: Socket, timeoutMs = 5_000): Promise<Holder> {
  return socket.timeout(timeoutMs).emitWithAck('whoami') as Promise<Holder>;
}

/** Runs `task` for 0..count-1, at most `concurrency` at a time. */
export async function inParallel<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

/** Collects every `event` a client receives, with its data. */
export function record<T>(socket: Socket, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (data: T) => seen.push(data));
  return seen;
}

/** Polls until `check` holds. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** POSTs `size` random bytes to `/hash` on a fresh connection; resolves with the sent and the received hash. */
export function postRandom(port: number, size: number): Promise<{ sent: string; received: string; bytes: number }> {
  const body = randomBytes(size);
  const sent = createHash('sha256').update(body).digest('hex');
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/hash',
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/octet-stream', 'content-length': body.length },
        timeout: 20_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          try {
            const answer = JSON.parse(text) as { sha256: string; bytes: number };
            resolve({ sent, received: answer.sha256, bytes: answer.bytes });
          } catch {
            reject(new Error(`status ${res.statusCode}: ${text}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('POST /hash timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
