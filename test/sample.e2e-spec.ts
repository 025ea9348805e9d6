import { fileURLToPath } from 'node:url';
import { ClusterProcess, freePort, get, pollReady } from './helpers/cluster-process.js';
import { request } from 'node:http';

const SAMPLE = fileURLToPath(new URL('../sample/dist/main.js', import.meta.url));

async function startSample(): Promise<{ app: ClusterProcess; port: number }> {
  const port = await freePort();
  const app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: '2' }, SAMPLE);
  // A cluster that never got ready must not outlive the case: nothing else holds it to kill it.
  await pollReady(port, 2, { app }).catch((error: unknown) => {
    app.killGroup();
    throw error;
  });
  return { app, port };
}

function post(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the sample app', () => {
  let app: ClusterProcess;
  let port: number;

  beforeAll(async () => {
    ({ app, port } = await startSample());
  });

  afterAll(() => app.killGroup());

  it('sums hits across workers with @ClusterRequestHandler and resets them with @OnClusterMessage', async () => {
    // Start from zero, whatever ran before on this cluster.
    expect(await post(port, '/hits/reset')).toBe(204);
    let total = -1;
    for (let i = 0; i < 100 && total !== 0; i++) total = (await get(port, '/hits')).body.total;
    expect(total).toBe(0);

    const served: Record<number, number> = { 0: 0, 1: 0 };
    let node = '';
    for (let i = 0; i < 10; i++) {
      const { body } = await get(port, '/');
      served[body.slot as number]! += 1;
      node = body.node as string;
    }
    expect(served[0]! > 0 && served[1]! > 0).toBe(true);

    const hits = await get(port, '/hits');
    expect(hits.body).toEqual({
      total: 10,
      replies: [
        { node, slot: 0, data: served[0] },
        { node, slot: 1, data: served[1] },
      ],
      missing: [],
    });

    expect(await post(port, '/hits/reset')).toBe(204);
    // The reset is a publish: wait until both workers applied it.
    total = -1;
    for (let i = 0; i < 100 && total !== 0; i++) total = (await get(port, '/hits')).body.total;
    expect(total).toBe(0);
  });

  it('reads the cluster settings through @nestjs/config', async () => {
    const { body } = await get(port, '/config');
    expect(body).toMatchObject({ workers: 2, port, enabled: true, serialization: 'json' });
  });

  it('wires liveness, readiness and per-worker health with Terminus', async () => {
    expect((await get(port, '/health')).body.details.cluster).toMatchObject({ status: 'up', alive: 2, expected: 2 });
    expect((await get(port, '/health/ready')).status).toBe(200);
    const workers = (await get(port, '/health/workers')).body.details.workers;
    expect(Object.keys(workers.workers).sort()).toEqual(['0', '1']);
  });
});

describe('the sample app, stopped', () => {
  let app: ClusterProcess;
  afterEach(() => app?.killGroup());

  // A cluster of its own: stopping the shared one would leave nothing for the tests above.
  it('stops with exit code 0 on SIGINT', async () => {
    ({ app } = await startSample());
    app.signal('SIGINT');
    expect(await app.exited).toEqual({ code: 0, signal: null });
  });
});
