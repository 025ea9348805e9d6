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
export function callControl(socket: string, request: Omit<ControlRequest, 'token'>, tokenFile = `${socket}.token`): Promise<ControlReply> {
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
    let received = '';
    connection.setEncoding('utf8');
    connection.on('connect', () => connection.write(`${JSON.stringify({ ...request, token })}\n`));
    connection.on('data', (chunk: string) => (received += chunk));
    connection.on('error', (error: NodeJS.ErrnoException) => reject(new ControlUnreachableError(socket, error.code ?? error.message)));
    connection.on('close', () => {
      const line = received.split('\n', 1)[0]!;
      try {
        resolve(JSON.parse(line) as ControlReply);
      } catch {
        reject(new ControlUnreachableError(socket, 'the connection closed without an answer (the primary exited?)'));
      }
    });
  });
}
