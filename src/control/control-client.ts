import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import type { ControlReply, ControlRequest } from './control-protocol.js';

/** Why a call did not get an answer. */
export class ControlUnreachableError extends Error {
  constructor(
    readonly socket: string,
    readonly reason: string,
  ) {
    super(`no cluster answers at ${socket}: ${reason}`);
  }
}

/**
 * One call to a primary's control socket: the request with the token read from beside the socket,
 * and its one-line answer. Waits as long as the verb does (`reload`, `stop`).
 */
export async function callControl(socket: string, request: Omit<ControlRequest, 'token'>, tokenFile = `${socket}.token`): Promise<ControlReply> {
  let reply: ControlReply | undefined;
  await streamControl(
    socket,
    request,
    (first) => (reply = first),
    () => undefined,
    tokenFile,
  );
  return reply!;
}

/**
 * A call whose answer goes on (`logs` with `follow`): `answered` hears the first line, `more` each one
 * after it; resolves once the primary closes the connection (the cluster stopped).
 */
export function streamControl(
  socket: string,
  request: Omit<ControlRequest, 'token'>,
  answered: (reply: ControlReply) => void,
  more: (body: unknown) => void,
  tokenFile = `${socket}.token`,
): Promise<void> {
  let token: string;
  try {
    token = readFileSync(tokenFile, 'utf8').trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no token file beside it (is the cluster running, under this name?)' : `its token cannot be read (${code})`;
    return Promise.reject(new ControlUnreachableError(socket, why));
  }
  return new Promise((resolve, reject) => {
    const connection = createConnection(socket);
    let pending = '';
    let first = true;
    connection.setEncoding('utf8');
    connection.on('connect', () => connection.write(`${JSON.stringify({ ...request, token })}\n`));
    connection.on('data', (chunk: string) => {
      pending += chunk;
      let end: number;
      while ((end = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        const body = JSON.parse(line) as unknown;
        if (first) answered(body as ControlReply);
        else more(body);
        first = false;
      }
    });
    connection.on('error', (error: NodeJS.ErrnoException) => reject(new ControlUnreachableError(socket, error.code ?? error.message)));
    connection.on('close', () =>
      first ? reject(new ControlUnreachableError(socket, 'the connection closed without an answer (the primary exited?)')) : resolve(),
    );
  });
}
