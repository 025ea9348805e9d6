import { ClusterProcess, freePort, get, pollReady } from './helpers/cluster-process.js';

const cases: Array<[string, Record<string, string>, RegExp]> = [
  [
    'CLUSTER_WORKERS=abc',
    { CLUSTER_WORKERS: 'abc' },
    /Invalid CLUSTER_WORKERS: "abc" is not allowed; expected a whole number from 1 to 4096, or "auto"\./,
  ],
  ['CLUSTER_WORKERS=-1', { CLUSTER_WORKERS: '-1' }, /Invalid CLUSTER_WORKERS: "-1" is not allowed/],
  ['CLUSTER_WORKERS=0', { CLUSTER_WORKERS: '0' }, /Invalid CLUSTER_WORKERS: "0" is not allowed/],
  ['CLUSTER_WORKERS=1.5', { CLUSTER_WORKERS: '1.5' }, /Invalid CLUSTER_WORKERS: "1.5" is not allowed/],
  ['CLUSTER_ENABLED=maybe', { CLUSTER_ENABLED: 'maybe' }, /Invalid CLUSTER_ENABLED: "maybe" is not allowed; expected true or false/],
  ['PORT=70000', { PORT: '70000' }, /Invalid PORT: "70000" is not allowed; expected a whole number from 0 to 65535\./],
  ['PORT=http', { PORT: 'http' }, /Invalid PORT: "http" is not allowed/],
  [
    'CLUSTER_READY_TIMEOUT_MS=0',
    { CLUSTER_READY_TIMEOUT_MS: '0' },
    /Invalid CLUSTER_READY_TIMEOUT_MS: "0" is not allowed; expected a whole number from 1 to/,
  ],
  ['CLUSTER_SHUTDOWN_TIMEOUT_MS=10s', { CLUSTER_SHUTDOWN_TIMEOUT_MS: '10s' }, /Invalid CLUSTER_SHUTDOWN_TIMEOUT_MS: "10s" is not allowed/],
  ['CLUSTER_MAX_RESTARTS=0', { CLUSTER_MAX_RESTARTS: '0' }, /Invalid CLUSTER_MAX_RESTARTS: "0" is not allowed; expected a whole number from 1 to/],
  ['CLUSTER_RESTART_WINDOW_MS=-5', { CLUSTER_RESTART_WINDOW_MS: '-5' }, /Invalid CLUSTER_RESTART_WINDOW_MS: "-5" is not allowed/],
  [
    'CLUSTER_UNRESPONSIVE_MS=1000',
    { CLUSTER_UNRESPONSIVE_MS: '1000' },
    /Invalid CLUSTER_UNRESPONSIVE_MS: "1000" is not allowed; expected 0 \(off\) or a whole number from 3000 to/,
  ],
  [
    'CLUSTER_MAX_MESSAGE_BYTES=1MB',
    { CLUSTER_MAX_MESSAGE_BYTES: '1MB' },
    /Invalid CLUSTER_MAX_MESSAGE_BYTES: "1MB" is not allowed; expected a whole number from 1024 to/,
  ],
  ['CLUSTER_MAX_PENDING_REQUESTS=0', { CLUSTER_MAX_PENDING_REQUESTS: '0' }, /Invalid CLUSTER_MAX_PENDING_REQUESTS: "0" is not allowed/],
  [
    'CLUSTER_MAX_QUEUE_BYTES below the message size limit',
    { CLUSTER_MAX_QUEUE_BYTES: '100000', CLUSTER_MAX_MESSAGE_BYTES: '200000' },
    /Invalid messaging\.maxQueueBytes \(CLUSTER_MAX_QUEUE_BYTES\): 100000 is not allowed; expected at least messaging\.maxMessageBytes/,
  ],
  ['option workers: 0', { FIXTURE_OPTIONS: '{"workers":0}' }, /Invalid options\.workers: 0 is not allowed/],
  ['option workers: "two"', { FIXTURE_OPTIONS: '{"workers":"two"}' }, /Invalid options\.workers: "two" is not allowed/],
  ['option shutdown.timeoutMs: -1', { FIXTURE_OPTIONS: '{"shutdown":{"timeoutMs":-1}}' }, /Invalid options\.shutdown\.timeoutMs: -1 is not allowed/],
  [
    'option restart.maxDelayMs below initialDelayMs',
    { FIXTURE_OPTIONS: '{"restart":{"initialDelayMs":500,"maxDelayMs":100}}' },
    /Invalid options\.restart\.maxDelayMs: 100 is not allowed; expected a whole number >= options\.restart\.initialDelayMs \(500\)/,
  ],
];

describe('invalid options and environment', () => {
  // Each case is one primary that exits before forking, alone in its process group: they run a few at
  // a time (Jest's maxConcurrency), the machine's cores shared between their starts.
  it.concurrent.each(cases)('%s: exits 78 with one line naming it, before any fork', async (_name, env, message) => {
    const app = ClusterProcess.start({ CLUSTER_WORKERS: '2', ...env });
    try {
      expect(await app.exited).toEqual({ code: 78, signal: null });
      const errors = app.lines.filter((l) => /Invalid /.test(l));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(message);
      expect(app.lines.some((l) => /^\s+at /.test(l))).toBe(false); // no stack trace
      expect(app.forkedPids()).toEqual([]);
      expect(app.output()).not.toMatch(/Starting Nest application/);
    } finally {
      app.killGroup();
    }
  });

  it('takes the explicit option over the environment', async () => {
    const port = await freePort();
    const app = ClusterProcess.start({ CLUSTER_WORKERS: 'abc', FIXTURE_OPTIONS: '{"workers":1,"enabled":false}', PORT: String(port) });
    try {
      await pollReady(port, 1, { app });
      expect((await get(port)).body).toMatchObject({ pid: app.pid, role: 'standalone' });
      // The invalid CLUSTER_WORKERS was never read: no error line names it.
      expect(app.output()).not.toMatch(/Invalid/);
    } finally {
      app.killGroup();
    }
  });
});
