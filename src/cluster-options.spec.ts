import { ClusterConfigError, ClusterError } from './cluster.errors.js';
import { CLUSTER_DEFAULTS, CLUSTER_ENV, freshNodeId, processNodeId, resolveClusterOptions } from './cluster-options.js';
import type { ClusterBootstrapOptions } from './interfaces/bootstrap-options.interface.js';
import { settingPaths } from './options/option-schema.js';
import { fileURLToPath } from 'node:url';
import { availableCpus } from './primary/available-cpus.js';

type Env = Record<string, string | undefined>;

/** A CPU counter that records how often it was asked. */
function cpus(n: number): { count: () => number; calls: number } {
  const counter = {
    calls: 0,
    count: () => {
      counter.calls += 1;
      return n;
    },
  };
  return counter;
}

const resolve = (options: ClusterBootstrapOptions = {}, env: Env = {}) => resolveClusterOptions(options, env, () => 5);

/** Runs `fn`, expects a ClusterConfigError and returns it for closer checks. */
function configError(fn: () => unknown): ClusterConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ClusterConfigError);
    return err as ClusterConfigError;
  }
  throw new Error('expected a ClusterConfigError, nothing was thrown');
}

function expectRejected(fn: () => unknown, setting: string, value: unknown, allowed: string): void {
  const err = configError(fn);
  expect(err).toBeInstanceOf(ClusterError);
  expect(err.name).toBe('ClusterConfigError');
  expect(err.code).toBe('CLUSTER_ERR_INVALID_OPTION');
  expect(err.setting).toBe(setting);
  expect(err.value).toEqual(value);
  expect(err.allowed).toBe(allowed);
  expect(err.message).toContain(setting);
  expect(err.message).toContain(allowed);
}

const WHOLE_PORT = 'a whole number from 0 to 65535';
const WORKERS = 'a whole number from 1 to 4096, or "auto"';
const STANDBY = 'a whole number from 0 to 64';
const BOOLEAN = 'true or false (also 1/0, yes/no, on/off)';
const SERIALIZATION = '"json" or "advanced"';
const UNRESPONSIVE = '0 (off) or a whole number from 3000 to 2147483647';
const MESSAGE_BYTES = 'a whole number from 1024 to 1073741824';
const QUEUE_BYTES = 'a whole number from 65536 to 17179869184';
const PENDING = 'a whole number from 1 to 10000000';

describe('resolveClusterOptions defaults', () => {
  it('fills every setting from the defaults with an empty environment', () => {
    const counter = cpus(6);
    const resolved = resolveClusterOptions({}, {}, counter.count);
    expect(resolved).toEqual({
      workersSetting: 'auto',
      workers: 6,
      standby: 0,
      enabled: true,
      nodeId: freshNodeId(),
      redisUrl: undefined,
      nats: {
        user: undefined,
        pass: undefined,
        token: undefined,
        credsFile: undefined,
        tls: { caFile: undefined, certFile: undefined, keyFile: undefined },
      },
      name: 'default',
      port: 3000,
      host: undefined,
      sticky: false,
      distribution: 'primary',
      perWorkerJobs: false,
      readyTimeoutMs: 30_000,
      serialization: 'json',
      unresponsiveMs: 10_000,
      logs: 'tagged',
      bootLogs: 'first',
      messaging: { maxMessageBytes: 1_048_576, maxQueueBytes: 67_108_864, maxPendingRequests: 10_000 },
      shutdown: { timeoutMs: 10_000, delayMs: 0 },
      leadership: { ttlMs: 9_000, renewMs: 3_000, retryMs: 1_000 },
      restart: {
        maxRestarts: 10,
        windowMs: 60_000,
        initialDelayMs: 100,
        factor: 2,
        maxDelayMs: 15_000,
        resetAfterMs: 30_000,
        maxMemoryMb: 0,
        memoryCheckIntervalMs: 5_000,
      },
      createApp: undefined,
      configure: undefined,
      listen: undefined,
      onPrimaryEvent: undefined,
    });
    expect(counter.calls).toBe(1);
  });

  it('uses availableCpus() for "auto" when no counter is given', () => {
    expect(resolveClusterOptions({}, {}).workers).toBe(availableCpus().cpus);
  });

  it('does not count CPUs when the worker count is explicit', () => {
    const counter = cpus(6);
    expect(resolveClusterOptions({ workers: 2 }, {}, counter.count).workers).toBe(2);
    expect(counter.calls).toBe(0);
  });

  it('treats a missing options argument like {}', () => {
    expect(resolveClusterOptions(undefined, {}, () => 3)).toMatchObject({ workers: 3, port: 3000 });
  });

  it('keeps the other restart defaults when only some restart options are given', () => {
    expect(resolve({ restart: { factor: 3 } }).restart).toEqual({ ...CLUSTER_DEFAULTS.restart, factor: 3 });
  });

  it('does not share the defaults object: the result can be changed safely', () => {
    const first = resolve();
    first.restart.maxRestarts = 99;
    expect(resolve().restart.maxRestarts).toBe(10);
    expect(CLUSTER_DEFAULTS.restart.maxRestarts).toBe(10);
  });
});

describe('resolveClusterOptions environment', () => {
  it('names the documented variables', () => {
    expect(CLUSTER_ENV).toEqual({
      workers: 'CLUSTER_WORKERS',
      standby: 'CLUSTER_STANDBY',
      enabled: 'CLUSTER_ENABLED',
      nodeId: 'CLUSTER_NODE_ID',
      redisUrl: 'CLUSTER_REDIS_URL',
      natsUrl: 'CLUSTER_NATS_URL',
      natsUser: 'CLUSTER_NATS_USER',
      natsPass: 'CLUSTER_NATS_PASS',
      natsToken: 'CLUSTER_NATS_TOKEN',
      natsCredsFile: 'CLUSTER_NATS_CREDS',
      natsTlsCaFile: 'CLUSTER_NATS_TLS_CA',
      natsTlsCertFile: 'CLUSTER_NATS_TLS_CERT',
      natsTlsKeyFile: 'CLUSTER_NATS_TLS_KEY',
      name: 'CLUSTER_NAME',
      control: 'CLUSTER_CONTROL_SOCKET',
      port: 'PORT',
      host: 'CLUSTER_HOST',
      sticky: 'CLUSTER_STICKY',
      distribution: 'CLUSTER_DISTRIBUTION',
      perWorkerJobs: 'CLUSTER_PER_WORKER_JOBS',
      readyTimeoutMs: 'CLUSTER_READY_TIMEOUT_MS',
      serialization: 'CLUSTER_SERIALIZATION',
      unresponsiveMs: 'CLUSTER_UNRESPONSIVE_MS',
      maxMessageBytes: 'CLUSTER_MAX_MESSAGE_BYTES',
      maxQueueBytes: 'CLUSTER_MAX_QUEUE_BYTES',
      maxPendingRequests: 'CLUSTER_MAX_PENDING_REQUESTS',
      shutdownTimeoutMs: 'CLUSTER_SHUTDOWN_TIMEOUT_MS',
      shutdownDelayMs: 'CLUSTER_SHUTDOWN_DELAY_MS',
      logs: 'CLUSTER_LOGS',
      bootLogs: 'CLUSTER_BOOT_LOGS',
      maxRestarts: 'CLUSTER_MAX_RESTARTS',
      restartWindowMs: 'CLUSTER_RESTART_WINDOW_MS',
      restartInitialDelayMs: 'CLUSTER_RESTART_INITIAL_DELAY_MS',
      restartFactor: 'CLUSTER_RESTART_FACTOR',
      restartMaxDelayMs: 'CLUSTER_RESTART_MAX_DELAY_MS',
      restartResetAfterMs: 'CLUSTER_RESTART_RESET_AFTER_MS',
      maxMemoryMb: 'CLUSTER_MAX_MEMORY_MB',
      memoryCheckIntervalMs: 'CLUSTER_MEMORY_CHECK_INTERVAL_MS',
      leaderTtlMs: 'CLUSTER_LEADER_TTL_MS',
      leaderRenewMs: 'CLUSTER_LEADER_RENEW_MS',
      leaderRetryMs: 'CLUSTER_LEADER_RETRY_MS',
    });
  });

  it('reads CLUSTER_MAX_MEMORY_MB, 0 meaning off', () => {
    expect(resolveClusterOptions({}, { CLUSTER_MAX_MEMORY_MB: '512' }, () => 1).restart.maxMemoryMb).toBe(512);
    expect(resolveClusterOptions({}, { CLUSTER_MAX_MEMORY_MB: '0' }, () => 1).restart.maxMemoryMb).toBe(0);
    expect(() => resolveClusterOptions({}, { CLUSTER_MAX_MEMORY_MB: '1.5GB' }, () => 1)).toThrow(
      'Invalid CLUSTER_MAX_MEMORY_MB: "1.5GB" is not allowed; expected a whole number from 0 to 1048576.',
    );
  });

  it('reads every variable', () => {
    const resolved = resolve(
      {},
      {
        CLUSTER_WORKERS: '3',
        CLUSTER_ENABLED: 'false',
        PORT: '8080',
        CLUSTER_READY_TIMEOUT_MS: '5000',
        CLUSTER_SERIALIZATION: 'advanced',
        CLUSTER_UNRESPONSIVE_MS: '5000',
        CLUSTER_MAX_MESSAGE_BYTES: '2048',
        CLUSTER_MAX_QUEUE_BYTES: '131072',
        CLUSTER_MAX_PENDING_REQUESTS: '50',
        CLUSTER_SHUTDOWN_TIMEOUT_MS: '2500',
        CLUSTER_MAX_RESTARTS: '4',
        CLUSTER_RESTART_WINDOW_MS: '20000',
      },
    );
    expect(resolved).toMatchObject({
      workersSetting: 3,
      workers: 3,
      enabled: false,
      port: 8080,
      readyTimeoutMs: 5000,
      serialization: 'advanced',
      unresponsiveMs: 5000,
      messaging: { maxMessageBytes: 2048, maxQueueBytes: 131_072, maxPendingRequests: 50 },
      shutdown: { timeoutMs: 2500 },
      restart: { maxRestarts: 4, windowMs: 20_000 },
    });
  });

  it('reads CLUSTER_WORKERS=auto as the CPU count', () => {
    expect(resolveClusterOptions({}, { CLUSTER_WORKERS: 'auto' }, () => 9)).toMatchObject({ workersSetting: 'auto', workers: 9 });
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['on', true],
    ['On', true],
    ['false', false],
    ['False', false],
    ['0', false],
    ['no', false],
    ['off', false],
    ['OFF', false],
  ])('reads CLUSTER_ENABLED=%s as %p', (raw, enabled) => {
    expect(resolve({}, { CLUSTER_ENABLED: raw }).enabled).toBe(enabled);
  });

  it('trims surrounding whitespace', () => {
    expect(resolve({}, { PORT: ' 8080\n', CLUSTER_WORKERS: '\t4 ', CLUSTER_ENABLED: ' no ' })).toMatchObject({
      port: 8080,
      workers: 4,
      enabled: false,
    });
  });

  it('accepts the bounds of each range', () => {
    expect(resolve({}, { PORT: '0' }).port).toBe(0);
    expect(resolve({}, { PORT: '65535' }).port).toBe(65_535);
    expect(resolve({}, { CLUSTER_WORKERS: '1' }).workers).toBe(1);
    expect(resolve({}, { CLUSTER_WORKERS: '4096' }).workers).toBe(4096);
    expect(resolve({}, { CLUSTER_SHUTDOWN_TIMEOUT_MS: '0' }).shutdown.timeoutMs).toBe(0);
    expect(resolve({}, { CLUSTER_READY_TIMEOUT_MS: '2147483647' }).readyTimeoutMs).toBe(2_147_483_647);
    expect(resolve({}, { CLUSTER_MAX_RESTARTS: '1000000' }).restart.maxRestarts).toBe(1_000_000);
  });

  it.each(['', '   ', '\t\n'])('treats %p as unset', (blank) => {
    const env = Object.fromEntries(Object.values(CLUSTER_ENV).map((name) => [name, blank]));
    const resolved = resolveClusterOptions({}, env, () => 5);
    expect(resolved).toMatchObject({
      workersSetting: 'auto',
      workers: 5,
      enabled: true,
      port: 3000,
      readyTimeoutMs: 30_000,
      serialization: 'json',
      unresponsiveMs: 10_000,
      messaging: CLUSTER_DEFAULTS.messaging,
      shutdown: { timeoutMs: 10_000 },
      leadership: { ttlMs: 9_000, renewMs: 3_000, retryMs: 1_000 },
      restart: { maxRestarts: 10, windowMs: 60_000 },
    });
  });

  it('ignores variables it does not own', () => {
    // Restart delays have no variable; a look-alike must not leak in.
    const resolved = resolve({}, { CLUSTER_INITIAL_DELAY_MS: '5', CLUSTER_FACTOR: '9', WORKERS: '7' });
    expect(resolved.restart).toEqual(CLUSTER_DEFAULTS.restart);
    expect(resolved.workers).toBe(5);
  });
});

describe('resolveClusterOptions node identity', () => {
  it('names the node from the option, else CLUSTER_NODE_ID, else a fresh hostname-pid-random name', () => {
    expect(resolve({ nodeId: 'pod-a' }, { CLUSTER_NODE_ID: 'pod-b' }).nodeId).toBe('pod-a');
    expect(resolve({}, { CLUSTER_NODE_ID: 'web-7f9c:1' }).nodeId).toBe('web-7f9c:1');
    const fresh = resolve({}, {}).nodeId;
    expect(fresh).toMatch(new RegExp(`^[\\w.:-]+-${process.pid}-[0-9a-f]{8}$`));
    // One process, one name: the config, the runtime and ClusterService agree.
    expect(resolve({}, {}).nodeId).toBe(fresh);
  });

  it('names a process whose options were not resolved from a valid CLUSTER_NODE_ID only', () => {
    expect(processNodeId({ CLUSTER_NODE_ID: 'pod-7' })).toBe('pod-7');
    expect(processNodeId({ CLUSTER_NODE_ID: 'not valid' })).toBe(freshNodeId());
    expect(processNodeId({})).toBe(freshNodeId());
  });

  it.each(['', 'has space', 'a/b', 'x'.repeat(129), 'ünïcode'])('rejects the node name %p, naming the setting', (bad) => {
    expect(() => resolve({ nodeId: bad }, {})).toThrow(/options\.nodeId/);
  });

  it('reads CLUSTER_REDIS_URL and CLUSTER_NAME, and rejects what is not a redis URL or a name', () => {
    expect(resolve({}, { CLUSTER_REDIS_URL: 'redis://10.0.0.5:6380', CLUSTER_NAME: 'orders' })).toMatchObject({
      redisUrl: 'redis://10.0.0.5:6380',
      name: 'orders',
    });
    expect(resolve({ redisUrl: 'rediss://user:pw@cache.internal:6379/2' }, {}).redisUrl).toBe('rediss://user:pw@cache.internal:6379/2');
    expect(() => resolve({}, { CLUSTER_REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(
      /CLUSTER_REDIS_URL: "http:\/\/127\.0\.0\.1:6379" is not allowed; expected a redis:\/\/ or rediss:\/\/ URL/,
    );
    expect(() => resolve({}, { CLUSTER_REDIS_URL: 'localhost:6379' })).toThrow(/CLUSTER_REDIS_URL/);
    expect(() => resolve({ name: 'two words' }, {})).toThrow(/options\.name/);
  });

  it('rejects a bad CLUSTER_NODE_ID, naming the variable and what is allowed', () => {
    expect(() => resolve({}, { CLUSTER_NODE_ID: 'a b' })).toThrow(/CLUSTER_NODE_ID: "a b" is not allowed; expected 1 to 128 letters/);
  });
});

describe('resolveClusterOptions precedence', () => {
  it('prefers an explicit option over the environment, and the environment over the default', () => {
    const resolved = resolve(
      { port: 4000, workers: 2, enabled: true, shutdown: { timeoutMs: 1 }, restart: { maxRestarts: 2 } },
      {
        PORT: '5000',
        CLUSTER_WORKERS: '8',
        CLUSTER_ENABLED: 'off',
        CLUSTER_SHUTDOWN_TIMEOUT_MS: '9000',
        CLUSTER_MAX_RESTARTS: '7',
        CLUSTER_RESTART_WINDOW_MS: '1234',
        CLUSTER_READY_TIMEOUT_MS: '4321',
      },
    );
    expect(resolved).toMatchObject({
      port: 4000,
      workers: 2,
      enabled: true,
      shutdown: { timeoutMs: 1 },
      restart: { maxRestarts: 2, windowMs: 1234 },
      readyTimeoutMs: 4321,
    });
  });

  it('keeps an explicit serialization over CLUSTER_SERIALIZATION', () => {
    expect(resolve({ serialization: 'json' }, { CLUSTER_SERIALIZATION: 'advanced' }).serialization).toBe('json');
  });

  it('keeps an explicit false over CLUSTER_ENABLED=true', () => {
    expect(resolve({ enabled: false }, { CLUSTER_ENABLED: 'true' }).enabled).toBe(false);
  });

  it('keeps an explicit 0 over the environment', () => {
    expect(resolve({ port: 0 }, { PORT: '8080' }).port).toBe(0);
  });

  it('does not validate an environment value that an option overrides', () => {
    expect(resolve({ port: 4000 }, { PORT: 'not-a-port' }).port).toBe(4000);
  });

  it('rejects an invalid option even when the environment holds a valid value', () => {
    expectRejected(() => resolve({ port: 70_000 }, { PORT: '8080' }), 'options.port', 70_000, WHOLE_PORT);
  });
});

describe('resolveClusterOptions invalid environment values', () => {
  it.each([
    ['CLUSTER_WORKERS', '0', WORKERS],
    ['CLUSTER_WORKERS', '4097', WORKERS],
    ['CLUSTER_WORKERS', '2.5', WORKERS],
    ['CLUSTER_WORKERS', '-1', WORKERS],
    ['CLUSTER_WORKERS', 'many', WORKERS],
    ['CLUSTER_WORKERS', '1e3', WORKERS],
    ['CLUSTER_WORKERS', '0x10', WORKERS],
    ['CLUSTER_STANDBY', '-1', STANDBY],
    ['CLUSTER_STANDBY', '65', STANDBY],
    ['CLUSTER_STANDBY', '1.5', STANDBY],
    ['CLUSTER_STANDBY', 'one', STANDBY],
    ['CLUSTER_ENABLED', 'maybe', BOOLEAN],
    ['CLUSTER_ENABLED', '2', BOOLEAN],
    ['CLUSTER_ENABLED', 'y', BOOLEAN],
    ['PORT', '65536', WHOLE_PORT],
    ['PORT', '-1', WHOLE_PORT],
    ['PORT', '80.5', WHOLE_PORT],
    ['PORT', 'http', WHOLE_PORT],
    ['PORT', '3000abc', WHOLE_PORT],
    ['CLUSTER_READY_TIMEOUT_MS', '0', 'a whole number from 1 to 2147483647'],
    ['CLUSTER_READY_TIMEOUT_MS', '2147483648', 'a whole number from 1 to 2147483647'],
    ['CLUSTER_SHUTDOWN_TIMEOUT_MS', '-5', 'a whole number from 0 to 2147483647'],
    ['CLUSTER_SHUTDOWN_TIMEOUT_MS', '10s', 'a whole number from 0 to 2147483647'],
    ['CLUSTER_MAX_RESTARTS', '0', 'a whole number from 1 to 1000000'],
    ['CLUSTER_MAX_RESTARTS', '1000001', 'a whole number from 1 to 1000000'],
    ['CLUSTER_RESTART_WINDOW_MS', '0', 'a whole number from 1 to 2147483647'],
    ['CLUSTER_RESTART_WINDOW_MS', 'Infinity', 'a whole number from 1 to 2147483647'],
    ['CLUSTER_SERIALIZATION', 'yaml', SERIALIZATION],
    ['CLUSTER_SERIALIZATION', 'JSON', SERIALIZATION],
    ['CLUSTER_UNRESPONSIVE_MS', '2999', UNRESPONSIVE],
    ['CLUSTER_UNRESPONSIVE_MS', '1', UNRESPONSIVE],
    ['CLUSTER_UNRESPONSIVE_MS', '-1', UNRESPONSIVE],
    ['CLUSTER_UNRESPONSIVE_MS', '2147483648', UNRESPONSIVE],
    ['CLUSTER_UNRESPONSIVE_MS', '10s', UNRESPONSIVE],
    ['CLUSTER_MAX_MESSAGE_BYTES', '1023', MESSAGE_BYTES],
    ['CLUSTER_MAX_MESSAGE_BYTES', '1073741825', MESSAGE_BYTES],
    ['CLUSTER_MAX_MESSAGE_BYTES', '1MB', MESSAGE_BYTES],
    ['CLUSTER_MAX_QUEUE_BYTES', '65535', QUEUE_BYTES],
    ['CLUSTER_MAX_QUEUE_BYTES', '17179869185', QUEUE_BYTES],
    ['CLUSTER_MAX_QUEUE_BYTES', '1e6', QUEUE_BYTES],
    ['CLUSTER_MAX_PENDING_REQUESTS', '0', PENDING],
    ['CLUSTER_MAX_PENDING_REQUESTS', '10000001', PENDING],
    ['CLUSTER_MAX_PENDING_REQUESTS', '1.5', PENDING],
  ])('%s=%p is rejected', (name, raw, allowed) => {
    expectRejected(() => resolve({}, { [name]: raw }), name, raw, allowed);
  });

  it('writes a message naming the variable, the quoted value and what is allowed', () => {
    const err = configError(() => resolve({}, { PORT: '70000' }));
    expect(err.message).toBe('Invalid PORT: "70000" is not allowed; expected a whole number from 0 to 65535.');
  });

  it('reports the first bad setting in resolution order', () => {
    const err = configError(() => resolve({}, { CLUSTER_WORKERS: 'x', PORT: 'y' }));
    expect(err.setting).toBe('CLUSTER_WORKERS');
  });
});

describe('resolveClusterOptions invalid options', () => {
  const ms = (min: number) => `a whole number from ${min} to 2147483647`;

  it.each<[string, ClusterBootstrapOptions, unknown, string]>([
    ['options.workers', { workers: 0 }, 0, WORKERS],
    ['options.workers', { workers: 1.5 }, 1.5, WORKERS],
    ['options.workers', { workers: 5000 }, 5000, WORKERS],
    ['options.workers', { workers: '4' as unknown as number }, '4', WORKERS], // strings only from the env
    ['options.workers', { workers: Number.NaN }, Number.NaN, WORKERS],
    ['options.standby', { standby: -1 }, -1, STANDBY],
    ['options.standby', { standby: 100 }, 100, STANDBY],
    ['options.standby', { standby: '1' as unknown as number }, '1', STANDBY],
    ['options.enabled', { enabled: 'true' as unknown as boolean }, 'true', BOOLEAN],
    ['options.enabled', { enabled: 1 as unknown as boolean }, 1, BOOLEAN],
    ['options.port', { port: -1 }, -1, WHOLE_PORT],
    ['options.port', { port: 3000.5 }, 3000.5, WHOLE_PORT],
    ['options.port', { port: '3000' as unknown as number }, '3000', WHOLE_PORT],
    ['options.port', { port: Number.POSITIVE_INFINITY }, Number.POSITIVE_INFINITY, WHOLE_PORT],
    ['options.readyTimeoutMs', { readyTimeoutMs: 0 }, 0, ms(1)],
    ['options.serialization', { serialization: 'v8' as never }, 'v8', SERIALIZATION],
    ['options.readyTimeoutMs', { readyTimeoutMs: 2_147_483_648 }, 2_147_483_648, ms(1)],
    ['options.shutdown.timeoutMs', { shutdown: { timeoutMs: -1 } }, -1, ms(0)],
    ['options.restart.maxRestarts', { restart: { maxRestarts: 0 } }, 0, 'a whole number from 1 to 1000000'],
    ['options.restart.windowMs', { restart: { windowMs: 0 } }, 0, ms(1)],
    ['options.restart.initialDelayMs', { restart: { initialDelayMs: -1 } }, -1, ms(0)],
    ['options.restart.factor', { restart: { factor: 0.5 } }, 0.5, 'a number from 1 to 100'],
    ['options.restart.factor', { restart: { factor: 101 } }, 101, 'a number from 1 to 100'],
    ['options.restart.factor', { restart: { factor: Number.NaN } }, Number.NaN, 'a number from 1 to 100'],
    ['options.restart.maxDelayMs', { restart: { maxDelayMs: 1.5 } }, 1.5, ms(0)],
    ['options.restart.resetAfterMs', { restart: { resetAfterMs: -10 } }, -10, ms(0)],
    ['options.unresponsiveMs', { unresponsiveMs: 2_999 }, 2_999, UNRESPONSIVE],
    ['options.unresponsiveMs', { unresponsiveMs: 5_000.5 }, 5_000.5, UNRESPONSIVE],
    ['options.unresponsiveMs', { unresponsiveMs: '5000' as unknown as number }, '5000', UNRESPONSIVE],
    ['options.messaging.maxMessageBytes', { messaging: { maxMessageBytes: 1_023 } }, 1_023, MESSAGE_BYTES],
    ['options.messaging.maxQueueBytes', { messaging: { maxQueueBytes: 17_179_869_185 } }, 17_179_869_185, QUEUE_BYTES],
    ['options.messaging.maxPendingRequests', { messaging: { maxPendingRequests: 0 } }, 0, PENDING],
    ['options.messaging', { messaging: 5 as never }, 5, 'an object'],
  ])('%s rejects %j', (setting, options, value, allowed) => {
    expectRejected(() => resolve(options), setting, value, allowed);
  });

  it('accepts a fractional factor and non-default restart delays', () => {
    const resolved = resolve({ restart: { factor: 1.5, initialDelayMs: 0, maxDelayMs: 0, resetAfterMs: 0 } });
    expect(resolved.restart).toMatchObject({ factor: 1.5, initialDelayMs: 0, maxDelayMs: 0, resetAfterMs: 0 });
  });

  it.each([
    ['createApp', 'NestFactory.create'],
    ['configure', {}],
    ['listen', 42],
    ['onPrimaryEvent', 'console.log'],
  ])('rejects a %s hook that is not a function', (hook, value) => {
    expectRejected(() => resolve({ [hook]: value } as ClusterBootstrapOptions), `options.${hook}`, value, 'a function');
  });

  it('passes function hooks through unchanged', () => {
    const createApp = () => ({}) as never;
    const configure = () => undefined;
    const listen = () => undefined;
    const onPrimaryEvent = () => undefined;
    const resolved = resolve({ createApp, configure, listen, onPrimaryEvent });
    expect(resolved.createApp).toBe(createApp);
    expect(resolved.configure).toBe(configure);
    expect(resolved.listen).toBe(listen);
    expect(resolved.onPrimaryEvent).toBe(onPrimaryEvent);
  });

  it('rejects maxDelayMs below initialDelayMs, naming the initial delay', () => {
    const err = configError(() => resolve({ restart: { initialDelayMs: 500, maxDelayMs: 200 } }));
    expect(err.code).toBe('CLUSTER_ERR_INVALID_OPTION');
    expect(err.setting).toBe('options.restart.maxDelayMs');
    expect(err.value).toBe(200);
    expect(err.message).toBe(
      'Invalid options.restart.maxDelayMs: 200 is not allowed; expected a whole number >= options.restart.initialDelayMs (500).',
    );
  });

  it('rejects an initialDelayMs above the default maxDelayMs', () => {
    const err = configError(() => resolve({ restart: { initialDelayMs: 20_000 } }));
    expect(err.setting).toBe('options.restart.maxDelayMs');
    expect(err.value).toBe(15_000);
  });

  it('rejects a leadership renewMs above half the ttlMs, naming both', () => {
    const err = configError(() => resolve({ leadership: { ttlMs: 5_000, renewMs: 3_000 } }));
    expect(err.setting).toBe('leadership.renewMs (CLUSTER_LEADER_RENEW_MS)');
    expect(err.value).toBe(3_000);
    expect(err.message).toContain('half of leadership.ttlMs (CLUSTER_LEADER_TTL_MS), 5000');
  });

  it('rejects a leadership retryMs above renewMs, from the environment too', () => {
    const err = configError(() => resolve({}, { CLUSTER_LEADER_RETRY_MS: '4000' }));
    expect(err.setting).toBe('leadership.retryMs (CLUSTER_LEADER_RETRY_MS)');
    expect(err.value).toBe(4_000);
  });

  it('takes the leadership timing from the environment', () => {
    const env = { CLUSTER_LEADER_TTL_MS: '3000', CLUSTER_LEADER_RENEW_MS: '1000', CLUSTER_LEADER_RETRY_MS: '250' };
    expect(resolve({}, env).leadership).toEqual({ ttlMs: 3_000, renewMs: 1_000, retryMs: 250 });
  });

  it('accepts maxDelayMs equal to initialDelayMs', () => {
    expect(resolve({ restart: { initialDelayMs: 300, maxDelayMs: 300 } }).restart.maxDelayMs).toBe(300);
  });

  it.each([null, 5, 'workers=4', true])('rejects options %p that are not an object', (options) => {
    expectRejected(() => resolve(options as unknown as ClusterBootstrapOptions), 'options', options, 'an object');
  });

  it('formats an object value as JSON and a function as "a function" in the message', () => {
    expect(configError(() => resolve({ configure: { a: 1 } as never })).message).toBe(
      'Invalid options.configure: {"a":1} is not allowed; expected a function.',
    );
    expect(configError(() => resolve({ port: (() => 1) as never })).message).toContain('a function is not allowed');
  });
});

describe('resolveClusterOptions: every setting from the environment', () => {
  it('reads the restart timing and the memory check interval too', () => {
    const resolved = resolve(
      {},
      {
        CLUSTER_RESTART_INITIAL_DELAY_MS: '250',
        CLUSTER_RESTART_FACTOR: '1.5',
        CLUSTER_RESTART_MAX_DELAY_MS: '5000',
        CLUSTER_RESTART_RESET_AFTER_MS: '0',
        CLUSTER_MEMORY_CHECK_INTERVAL_MS: '1000',
      },
    );
    expect(resolved.restart).toMatchObject({ initialDelayMs: 250, factor: 1.5, maxDelayMs: 5000, resetAfterMs: 0, memoryCheckIntervalMs: 1000 });
    expectRejected(() => resolve({}, { CLUSTER_RESTART_FACTOR: '0.5' }), 'CLUSTER_RESTART_FACTOR', '0.5', 'a number from 1 to 100');
  });

  it('has a variable for every setting, each its own', () => {
    const paths = settingPaths();
    expect(paths.length).toBeGreaterThan(20);
    const variables = paths.map(([, s]) => s.env);
    expect(new Set(variables).size).toBe(variables.length);
    expect(new Set(variables)).toEqual(new Set(Object.values(CLUSTER_ENV)));
  });
});

describe('resolveClusterOptions sticky sessions', () => {
  const STICKY = 'false (also "off"), "sid" or "ip"';

  it('is off by default', () => {
    expect(resolve().sticky).toBe(false);
  });

  it.each([
    ['sid', 'sid'],
    ['ip', 'ip'],
    [' SID ', 'sid'],
    ['off', false],
    ['false', false],
    ['OFF', false],
  ])('reads CLUSTER_STICKY=%p as %p', (raw, expected) => {
    expect(resolve({}, { CLUSTER_STICKY: raw }).sticky).toBe(expected);
  });

  it('prefers the option over CLUSTER_STICKY', () => {
    expect(resolve({ sticky: false }, { CLUSTER_STICKY: 'sid' }).sticky).toBe(false);
    expect(resolve({ sticky: 'ip' }, { CLUSTER_STICKY: 'sid' }).sticky).toBe('ip');
  });

  it.each(['cookie', 'on', 'true', '1'])('rejects CLUSTER_STICKY=%p, naming what is allowed', (raw) => {
    expectRejected(() => resolve({}, { CLUSTER_STICKY: raw }), 'CLUSTER_STICKY', raw, STICKY);
  });

  it.each([true, 'SID', 'off', 0])('rejects options.sticky = %p', (value) => {
    expectRejected(() => resolve({ sticky: value as never }), 'options.sticky', value, STICKY);
  });
});

describe('resolveClusterOptions distribution', () => {
  const DISTRIBUTION = '"primary" or "node"';

  it("is 'primary' by default, read from CLUSTER_DISTRIBUTION below the option", () => {
    expect(resolve().distribution).toBe('primary');
    expect(resolve({}, { CLUSTER_DISTRIBUTION: ' Node ' }).distribution).toBe('node');
    expect(resolve({ distribution: 'primary' }, { CLUSTER_DISTRIBUTION: 'node' }).distribution).toBe('primary');
  });

  it.each(['rr', 'none', 'cluster'])('rejects CLUSTER_DISTRIBUTION=%p, naming what is allowed', (raw) => {
    expectRejected(() => resolve({}, { CLUSTER_DISTRIBUTION: raw }), 'CLUSTER_DISTRIBUTION', raw, DISTRIBUTION);
  });

  it.each(['Node', true, 0])('rejects options.distribution = %p', (value) => {
    expectRejected(() => resolve({ distribution: value as never }), 'options.distribution', value, DISTRIBUTION);
  });
});

describe('resolveClusterOptions host', () => {
  const HOST = 'an IP address (such as "0.0.0.0" or "::") or a host name';

  it('is unset by default, and read from CLUSTER_HOST below the option', () => {
    expect(resolve().host).toBeUndefined();
    expect(resolve({}, { CLUSTER_HOST: ' 0.0.0.0 ' }).host).toBe('0.0.0.0');
    expect(resolve({ host: '::' }, { CLUSTER_HOST: '0.0.0.0' }).host).toBe('::');
    expect(resolve({ host: 'localhost' }).host).toBe('localhost');
    expect(resolve({ host: 'api.internal-1.example' }).host).toBe('api.internal-1.example');
  });

  it.each(['0.0.0.0:3000', 'http://localhost', 'a b', '-leading.dash'])('rejects CLUSTER_HOST=%p, naming what is allowed', (raw) => {
    expectRejected(() => resolve({}, { CLUSTER_HOST: raw }), 'CLUSTER_HOST', raw, HOST);
  });

  it.each([0, '', true])('rejects options.host = %p', (value) => {
    expectRejected(() => resolve({ host: value as never }), 'options.host', value, HOST);
  });
});

describe('resolveClusterOptions NATS', () => {
  it('reads CLUSTER_NATS_URL, a nats:// or tls:// URL', () => {
    expect(resolve({}, { CLUSTER_NATS_URL: 'nats://127.0.0.1:4222' }).natsUrl).toBe('nats://127.0.0.1:4222');
    expect(resolve({ natsUrl: 'tls://user:secret@nats.internal:4222' }).natsUrl).toBe('tls://user:secret@nats.internal:4222');
    expectRejected(
      () => resolve({}, { CLUSTER_NATS_URL: 'redis://127.0.0.1' }),
      'CLUSTER_NATS_URL',
      'redis://127.0.0.1',
      'a nats:// or tls:// URL, e.g. nats://127.0.0.1:4222',
    );
  });

  it('refuses NATS and Redis at once, naming both', () => {
    const error = configError(() => resolve({ natsUrl: 'nats://127.0.0.1:4222' }, { CLUSTER_REDIS_URL: 'redis://127.0.0.1:6379' }));
    expect(error.setting).toBe('options.natsUrl');
    expect(error.allowed).toContain('CLUSTER_REDIS_URL');
  });

  it('never shows the credentials of a bad URL', () => {
    const error = configError(() => resolve({}, { CLUSTER_NATS_URL: 'http://app:hunter2@nats.internal:4222' }));
    expect(error.value).toBe('http://***@nats.internal:4222');
    expect(error.message).not.toContain('hunter2');
    expect(configError(() => resolve({}, { CLUSTER_REDIS_URL: 'nats://:hunter2@redis:6379' })).message).not.toContain('hunter2');
  });

  const file = fileURLToPath(import.meta.url); // a file this process can read
  const URL = { natsUrl: 'nats://127.0.0.1:4222' };
  const NONE = {
    user: undefined,
    pass: undefined,
    token: undefined,
    credsFile: undefined,
    tls: { caFile: undefined, certFile: undefined, keyFile: undefined },
  };

  it('reads the credentials and TLS files from nats or the environment, the option first', () => {
    expect(resolve(URL).nats).toEqual(NONE);
    expect(resolve({ ...URL, nats: { user: 'app', pass: 'p' } }, { CLUSTER_NATS_USER: 'other' }).nats).toMatchObject({ user: 'app', pass: 'p' });
    expect(resolve(URL, { CLUSTER_NATS_TOKEN: ' s3cret ' }).nats.token).toBe('s3cret');
    const env = { CLUSTER_NATS_CREDS: file, CLUSTER_NATS_TLS_CA: file, CLUSTER_NATS_TLS_CERT: file, CLUSTER_NATS_TLS_KEY: file };
    expect(resolve(URL, env).nats).toEqual({ ...NONE, credsFile: file, tls: { caFile: file, certFile: file, keyFile: file } });
  });

  it('rejects a password or token that is not 1 to 4096 characters without control characters, never showing it', () => {
    const allowed = '1 to 4096 characters, no control characters';
    const error = configError(() => resolve({ ...URL, nats: { user: 'app', pass: 'line\nbreak' } }));
    expect(error.setting).toBe('options.nats.pass');
    expect(error.allowed).toBe(allowed);
    expect(error.message).toContain('a string of 10 character(s) (hidden)');
    expect(error.message).not.toContain('line');
    expect(configError(() => resolve({ ...URL, nats: { token: 42 as never } })).message).toContain('a number (hidden)');
    expectRejected(() => resolve({ ...URL, nats: { user: '' } }), 'options.nats.user', '', allowed);
  });

  it('rejects a file this process cannot read, naming it', () => {
    expectRejected(
      () => resolve(URL, { CLUSTER_NATS_CREDS: '/nonexistent/app.creds' }),
      'CLUSTER_NATS_CREDS',
      '/nonexistent/app.creds',
      'the path of a file this process can read',
    );
    expectRejected(
      () => resolve({ ...URL, nats: { tls: { caFile: '/' } } }),
      'options.nats.tls.caFile',
      '/',
      'the path of a file this process can read',
    );
  });

  it.each<[string, ClusterBootstrapOptions, Env, string, RegExp]>([
    ['NATS settings without natsUrl', {}, { CLUSTER_NATS_TOKEN: 's3cret' }, 'nats.token (CLUSTER_NATS_TOKEN)', /unset while natsUrl/],
    ['a password without a user', { ...URL, nats: { pass: 'p' } }, {}, 'nats.pass (CLUSTER_NATS_PASS)', /unless nats.user/],
    ['a token and a user', { ...URL, nats: { user: 'u', token: 't' } }, {}, 'nats.token (CLUSTER_NATS_TOKEN)', /one way to authenticate/],
    ['a creds file and a token', { ...URL, nats: { token: 't' } }, { CLUSTER_NATS_CREDS: file }, 'nats.credsFile (CLUSTER_NATS_CREDS)', /one way/],
    ['a certificate without its key', { ...URL, nats: { tls: { certFile: file } } }, {}, 'nats.tls.certFile (CLUSTER_NATS_TLS_CERT)', /keyFile/],
    ['a key without its certificate', URL, { CLUSTER_NATS_TLS_KEY: file }, 'nats.tls.keyFile (CLUSTER_NATS_TLS_KEY)', /certFile/],
    ['credentials in the URL and in nats', { natsUrl: 'nats://a:b@h:4222', nats: { user: 'u' } }, {}, 'natsUrl (CLUSTER_NATS_URL)', /not both/],
  ])('refuses %s, naming the setting', (_, options, env, setting, allowed) => {
    const error = configError(() => resolve(options, env));
    expect(error.setting).toBe(setting);
    expect(error.allowed).toMatch(allowed);
    expect(error.message).not.toMatch(/"t"|"p"|:b@/);
  });
});

describe('resolveClusterOptions control socket', () => {
  const CONTROL = "'off', or an absolute path of at most 107 bytes for the control socket";

  it("takes an absolute path or 'off', from the option or CLUSTER_CONTROL_SOCKET; unset by default", () => {
    expect(resolve({}).control).toBeUndefined();
    expect(resolve({}, { CLUSTER_CONTROL_SOCKET: '/run/app/ctl.sock' }).control).toBe('/run/app/ctl.sock');
    expect(resolve({ control: 'off' }, { CLUSTER_CONTROL_SOCKET: '/run/app/ctl.sock' }).control).toBe('off');
  });

  it.each(['ctl.sock', './ctl.sock', `/${'x'.repeat(107)}`, 'OFF'])('rejects CLUSTER_CONTROL_SOCKET=%p, naming what is allowed', (raw) => {
    expectRejected(() => resolve({}, { CLUSTER_CONTROL_SOCKET: raw }), 'CLUSTER_CONTROL_SOCKET', raw, CONTROL);
  });

  it.each([false, 0, ''])('rejects options.control = %p', (value) => {
    expectRejected(() => resolve({ control: value as never }), 'options.control', value, CONTROL);
  });
});

describe('resolveClusterOptions sticky mode and a listen hook', () => {
  it.each(['sid', 'ip'] as const)('refuses a listen hook with sticky %p, saying what to do instead', (sticky) => {
    const error = configError(() => resolve({ sticky, listen: () => undefined }));
    expect(error.setting).toBe(`options.listen (with sticky "${sticky}")`);
    expect(error.allowed).toContain('remove listen');
    expect(error.allowed).toContain('CLUSTER_HOST');
  });

  it('refuses it when sticky comes from CLUSTER_STICKY too', () => {
    expect(configError(() => resolve({ listen: () => undefined }, { CLUSTER_STICKY: 'sid' })).setting).toBe('options.listen (with sticky "sid")');
  });

  it('accepts a listen hook without sticky, and sticky without one', () => {
    expect(resolve({ listen: () => undefined }).listen).toBeDefined();
    expect(resolve({ sticky: 'sid', host: '0.0.0.0' })).toMatchObject({ sticky: 'sid', host: '0.0.0.0' });
  });
});

describe('resolveClusterOptions perWorkerJobs', () => {
  it('is off by default; read from CLUSTER_PER_WORKER_JOBS below the option', () => {
    expect(resolve().perWorkerJobs).toBe(false);
    expect(resolve({}, { CLUSTER_PER_WORKER_JOBS: 'yes' }).perWorkerJobs).toBe(true);
    expect(resolve({ perWorkerJobs: false }, { CLUSTER_PER_WORKER_JOBS: 'true' }).perWorkerJobs).toBe(false);
    expectRejected(
      () => resolve({}, { CLUSTER_PER_WORKER_JOBS: 'sometimes' }),
      'CLUSTER_PER_WORKER_JOBS',
      'sometimes',
      'true or false (also 1/0, yes/no, on/off)',
    );
  });
});

describe('resolveClusterOptions liveness and messaging limits', () => {
  it('reads CLUSTER_UNRESPONSIVE_MS, 0 meaning off', () => {
    expect(resolve({}, { CLUSTER_UNRESPONSIVE_MS: '0' }).unresponsiveMs).toBe(0);
    expect(resolve({}, { CLUSTER_UNRESPONSIVE_MS: '3000' }).unresponsiveMs).toBe(3_000);
    expect(resolve({}, { CLUSTER_UNRESPONSIVE_MS: '2147483647' }).unresponsiveMs).toBe(2_147_483_647);
    expect(resolve({ unresponsiveMs: 0 }).unresponsiveMs).toBe(0);
  });

  it('accepts the bounds of each messaging limit', () => {
    const low = resolve({}, { CLUSTER_MAX_MESSAGE_BYTES: '1024', CLUSTER_MAX_QUEUE_BYTES: '65536', CLUSTER_MAX_PENDING_REQUESTS: '1' });
    expect(low.messaging).toEqual({ maxMessageBytes: 1_024, maxQueueBytes: 65_536, maxPendingRequests: 1 });
    const high = resolve(
      {},
      { CLUSTER_MAX_MESSAGE_BYTES: '1073741824', CLUSTER_MAX_QUEUE_BYTES: '17179869184', CLUSTER_MAX_PENDING_REQUESTS: '10000000' },
    );
    expect(high.messaging).toEqual({ maxMessageBytes: 1_073_741_824, maxQueueBytes: 17_179_869_184, maxPendingRequests: 10_000_000 });
  });

  it('prefers the options over the environment', () => {
    const resolved = resolve(
      { unresponsiveMs: 4_000, messaging: { maxMessageBytes: 4_096, maxQueueBytes: 100_000, maxPendingRequests: 7 } },
      { CLUSTER_UNRESPONSIVE_MS: '0', CLUSTER_MAX_MESSAGE_BYTES: '2048', CLUSTER_MAX_QUEUE_BYTES: 'junk', CLUSTER_MAX_PENDING_REQUESTS: '9' },
    );
    expect(resolved).toMatchObject({
      unresponsiveMs: 4_000,
      messaging: { maxMessageBytes: 4_096, maxQueueBytes: 100_000, maxPendingRequests: 7 },
    });
  });

  it('keeps the other messaging defaults when only some limits are given', () => {
    expect(resolve({ messaging: { maxPendingRequests: 5 } }).messaging).toEqual({ ...CLUSTER_DEFAULTS.messaging, maxPendingRequests: 5 });
  });

  it('rejects a queue smaller than the largest message, naming both settings', () => {
    const err = configError(() => resolve({ messaging: { maxMessageBytes: 100_000, maxQueueBytes: 65_536 } }));
    expect(err.code).toBe('CLUSTER_ERR_INVALID_OPTION');
    expect(err.setting).toContain('maxQueueBytes');
    expect(err.value).toBe(65_536);
    expect(err.message).toContain('CLUSTER_MAX_QUEUE_BYTES');
    expect(err.message).toContain('maxMessageBytes');
    expect(err.message).toContain('100000');
  });

  it('checks the queue against the message size wherever each came from', () => {
    // A message limit above the default queue needs a larger queue too.
    const aboveDefaultQueue = String(2 * CLUSTER_DEFAULTS.messaging.maxQueueBytes);
    expect(configError(() => resolve({}, { CLUSTER_MAX_MESSAGE_BYTES: aboveDefaultQueue })).value).toBe(CLUSTER_DEFAULTS.messaging.maxQueueBytes);
    expect(configError(() => resolve({ messaging: { maxQueueBytes: 65_536 } })).value).toBe(65_536);
    expect(resolve({}, { CLUSTER_MAX_MESSAGE_BYTES: '65536', CLUSTER_MAX_QUEUE_BYTES: '65536' }).messaging.maxQueueBytes).toBe(65_536);
  });
});

describe('resolveClusterOptions logs and the shutdown delay', () => {
  it('reads CLUSTER_LOGS, CLUSTER_BOOT_LOGS and CLUSTER_SHUTDOWN_DELAY_MS, case-insensitive words', () => {
    const resolved = resolve({}, { CLUSTER_LOGS: 'Inherit', CLUSTER_BOOT_LOGS: 'ALL', CLUSTER_SHUTDOWN_DELAY_MS: ' 3000 ' });
    expect(resolved.logs).toBe('inherit');
    expect(resolved.bootLogs).toBe('all');
    expect(resolved.shutdown).toEqual({ timeoutMs: 10_000, delayMs: 3_000 });
  });

  it('prefers the options, and keeps the other shutdown setting', () => {
    const resolved = resolve(
      { logs: 'tagged', bootLogs: 'first', shutdown: { delayMs: 0 } },
      { CLUSTER_LOGS: 'inherit', CLUSTER_SHUTDOWN_DELAY_MS: '5000' },
    );
    expect(resolved).toMatchObject({ logs: 'tagged', bootLogs: 'first', shutdown: { timeoutMs: 10_000, delayMs: 0 } });
    expect(resolve({}, { CLUSTER_SHUTDOWN_DELAY_MS: '600000' }).shutdown.delayMs).toBe(600_000);
  });

  it.each([
    ['CLUSTER_SHUTDOWN_DELAY_MS', '-1', 'a whole number from 0 to 600000'],
    ['CLUSTER_SHUTDOWN_DELAY_MS', '600001', 'a whole number from 0 to 600000'],
    ['CLUSTER_SHUTDOWN_DELAY_MS', '3s', 'a whole number from 0 to 600000'],
    ['CLUSTER_SHUTDOWN_DELAY_MS', '1.5', 'a whole number from 0 to 600000'],
    ['CLUSTER_LOGS', 'json', '"tagged" or "inherit"'],
    ['CLUSTER_LOGS', 'off', '"tagged" or "inherit"'],
    ['CLUSTER_BOOT_LOGS', 'none', '"first" or "all"'],
  ])('%s=%p is rejected', (name, raw, allowed) => {
    expectRejected(() => resolve({}, { [name]: raw }), name, raw, allowed);
  });

  it('rejects bad options, naming the option, the value and the range', () => {
    expectRejected(() => resolve({ shutdown: { delayMs: 700_000 } }), 'options.shutdown.delayMs', 700_000, 'a whole number from 0 to 600000');
    expectRejected(
      () => resolve({ shutdown: { delayMs: '3000' as unknown as number } }),
      'options.shutdown.delayMs',
      '3000',
      'a whole number from 0 to 600000',
    );
    expectRejected(() => resolve({ logs: 'TAGGED' as 'tagged' }), 'options.logs', 'TAGGED', '"tagged" or "inherit"');
    expectRejected(() => resolve({ bootLogs: true as unknown as 'all' }), 'options.bootLogs', true, '"first" or "all"');
    const err = configError(() => resolve({}, { CLUSTER_SHUTDOWN_DELAY_MS: '-1' }));
    expect(err.message).toBe('Invalid CLUSTER_SHUTDOWN_DELAY_MS: "-1" is not allowed; expected a whole number from 0 to 600000.');
  });
});
