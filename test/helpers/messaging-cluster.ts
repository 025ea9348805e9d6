import { fileURLToPath } from 'node:url';
import { ClusterProcess, freePort, get, pollReady, type ReadyWorker } from './cluster-process.js';

export const MESSAGING_APP = fileURLToPath(new URL('../fixtures/dist/messaging-app.js', import.meta.url));

/** What a worker of the messaging fixture answers on its control port. */
export type Control = (slot: number, path: string) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A cluster of the messaging fixture, driven through each worker's control port; resolves once slot 0
 * sees every slot ready, with the ready workers by slot.
 */
export async function startMessagingCluster(
  workers: number,
  env: Record<string, string> = {},
): Promise<{ app: ClusterProcess; control: Control; port: number; ready: ReadyWorker[] }> {
  const controlPorts = await Promise.all(Array.from({ length: workers }, () => freePort()));
  const port = await freePort();
  const app = ClusterProcess.start(
    { PORT: String(port), CLUSTER_WORKERS: String(workers), CONTROL_PORTS: controlPorts.join(','), ...env },
    MESSAGING_APP,
  );
  // A cluster that never got ready must not outlive the case: nothing else holds it to kill it.
  const ready = await pollReady(controlPorts[0]!, workers, { app }).catch((error: unknown) => {
    app.killGroup();
    throw error;
  });
  const control: Control = async (slot, path) => (await get(controlPorts[slot]!, path)).body;
  return { app, control, port, ready };
}

/** Waits until `observer` sees `workers` ready workers (say, after a test killed one). */
export function allReady(control: Control, workers: number, observer = 0): Promise<void> {
  return pollUntil(
    async () => ((await control(observer, '/workers')) as Array<{ state: string }>).filter((w) => w.state === 'ready').length === workers,
    `${workers} ready workers`,
    30_000,
  );
}

/** JSON, URL-encoded for a control query. */
export const q = (value: unknown) => encodeURIComponent(JSON.stringify(value));

/** Polls an HTTP-observable condition (there is no event to wait on from outside the cluster). */
export async function pollUntil(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
