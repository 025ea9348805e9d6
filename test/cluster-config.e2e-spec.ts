/**
 * `clusterConfig` shows the settings the cluster runs with: explicit options of `main.ts` over the
 * environment over the defaults, alike in the primary, in every worker and in a standalone process.
 */
import { fileURLToPath } from 'node:url';
import { ClusterProcess, freePort, get } from './helpers/cluster-process.js';

const CONFIG_APP = fileURLToPath(new URL('./fixtures/dist/config-app.js', import.meta.url));

interface Settings {
  workers: number;
  nodeId: string;
  shutdown: { timeoutMs: number };
  restart: { factor: number; maxRestarts: number; initialDelayMs: number };
  readyTimeoutMs: number;
  port: number;
}

/** The environment sets a drain time too: the option in main.ts (4321) must win over it. */
const ENV = { CLUSTER_SHUTDOWN_TIMEOUT_MS: '7777', CLUSTER_MAX_RESTARTS: '7' };

function expectRunningSettings(settings: Settings, port: number): void {
  expect(settings.shutdown.timeoutMs).toBe(4321); // option over environment
  expect(settings.restart.factor).toBe(3); // option with no environment variable
  expect(settings.restart.maxRestarts).toBe(7); // environment over default
  expect(settings.restart.initialDelayMs).toBe(100); // default
  expect(settings.readyTimeoutMs).toBe(30_000);
  expect(settings.port).toBe(port);
}

/** What `GET /config` answers from `count` different workers (fresh connections spread over them). */
async function fromWorkers(port: number, count: number): Promise<Map<number, Settings>> {
  const seen = new Map<number, Settings>();
  for (let i = 0; i < 200 && seen.size < count; i++) {
    const { status, body } = await get(port, '/config');
    expect(status).toBe(200);
    seen.set(body.pid as number, body.cluster as Settings);
  }
  return seen;
}

describe('clusterConfig with explicit options', () => {
  let app: ClusterProcess | undefined;

  afterEach(async () => {
    await app?.stop();
    app = undefined;
  }, 30_000);

  it('shows the same running settings in the primary and in every worker', async () => {
    const port = await freePort();
    app = ClusterProcess.start({ ...ENV, PORT: String(port), CLUSTER_WORKERS: '2' }, CONFIG_APP);
    const primary = JSON.parse((await app.waitForLine(/^SETTINGS /)).slice('SETTINGS '.length)) as Settings;
    expectRunningSettings(primary, port);
    expect(primary.workers).toBe(2);
    await whenServing(port);
    const workers = await fromWorkers(port, 2);
    expect(workers.size).toBe(2);
    for (const settings of workers.values()) {
      expectRunningSettings(settings, port);
      expect(settings.workers).toBe(2);
      expect(settings.nodeId).toBe(primary.nodeId);
    }
  }, 60_000);

  it('shows them in a standalone process (clustering off)', async () => {
    const port = await freePort();
    app = ClusterProcess.start({ ...ENV, PORT: String(port), CLUSTER_ENABLED: 'false' }, CONFIG_APP);
    const outside = JSON.parse((await app.waitForLine(/^SETTINGS /)).slice('SETTINGS '.length)) as Settings;
    expectRunningSettings(outside, port);
    const answered = await whenServing(port);
    expectRunningSettings(answered, port);
    expect(answered.nodeId).toBe(outside.nodeId);
  }, 60_000);
});

/** `GET /config` once the standalone process serves. */
async function whenServing(port: number): Promise<Settings> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return (await get(port, '/config', 2_000)).body.cluster as Settings;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
