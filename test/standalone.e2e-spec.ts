import { ClusterProcess, freePort, get, groupMembers, pollReady } from './helpers/cluster-process.js';

describe.each([
  ['CLUSTER_ENABLED=false', { CLUSTER_ENABLED: 'false' }],
  ['enabled: false', { FIXTURE_OPTIONS: '{"enabled":false}' }],
])('clustering turned off with %s', (_name, env) => {
  let app: ClusterProcess;
  afterEach(() => app.killGroup());

  it('serves from the one process, role standalone, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: '2', ...env });
    await pollReady(port, 1, { app });

    for (let i = 0; i < 4; i++) {
      const { status, body } = await get(port);
      expect(status).toBe(200);
      expect(body).toMatchObject({ pid: app.pid, role: 'standalone', slot: 0 });
    }
    const { body } = await get(port, '/workers');
    expect(body.workers).toEqual([expect.objectContaining({ pid: app.pid, slot: 0, state: 'ready' })]);
    expect(groupMembers(app.pid)).toEqual([app.pid]); // no worker processes

    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
  });
});
