import { fileURLToPath } from 'node:url';
import type { Socket } from 'socket.io-client';
import { ClusterProcess, freePort } from './cluster-process.js';
import { connectClient, inParallel, upgraded, whoami } from './socket-clients.js';

const WS_APP = fileURLToPath(new URL('../fixtures/dist/ws-app.js', import.meta.url));
export const WS_WORKERS = 4;

/** A cluster of the socket.io fixture (4 workers) with sticky sessions on (`sid` unless `env` says otherwise), ready to serve. */
export async function startWsCluster(env: Record<string, string> = {}, workers = WS_WORKERS): Promise<{ app: ClusterProcess; port: number }> {
  const port = await freePort();
  const app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: String(workers), ...env }, WS_APP);
  // A cluster that never got ready must not outlive the case: nothing else holds it to kill it.
  try {
    await app.waitForReady(workers);
    await app.waitForLine(/the primary listens on port/);
  } catch (error) {
    app.killGroup();
    throw error;
  }
  return { app, port };
}

/** Closes the clients, drains the cluster (SIGTERM, 15 s at most), then kills whatever is left of its group. */
export async function stopWsCluster(app: ClusterProcess | undefined, clients: Socket[]): Promise<void> {
  for (const client of clients.splice(0)) client.close();
  await app?.stop();
}

/** `count` clients, `concurrency` at a time, each handshaking by polling then upgrading: the pid that held each session. */
export function handshakeHolders(port: number, count: number, concurrency: number): Promise<number[]> {
  return inParallel(count, concurrency, async () => {
    const socket = await connectClient(port);
    try {
      await upgraded(socket);
      return (await whoami(socket)).pid;
    } finally {
      socket.close();
    }
  });
}

/** The fixture's lines for requests that met `Session ID unknown`. */
export function sessionsUnknown(app: ClusterProcess): string[] {
  return app.lines.filter((l) => l.startsWith('SESSION_UNKNOWN'));
}
