import { Inject, Injectable } from '@nestjs/common';
import { ConfigModule, ConfigService, type ConfigType } from '@nestjs/config';
import { Test, type TestingModule } from '@nestjs/testing';
import { ClusterConfigError } from '../cluster.errors.js';
import { CLUSTER_DEFAULTS, CLUSTER_ENV, freshNodeId, recordRunningOptions, resolveClusterOptions } from '../cluster-options.js';
import { availableCpus } from '../primary/available-cpus.js';
import { clusterConfig } from './cluster.config.js';

const NAMES = Object.values(CLUSTER_ENV);

describe('clusterConfig', () => {
  const saved = new Map<string, string | undefined>();
  let moduleRef: TestingModule | undefined;

  beforeEach(() => {
    // Start from a clean slate: the host's PORT or CLUSTER_* must not leak into the assertions.
    for (const name of NAMES) {
      saved.set(name, process.env[name]);
      delete process.env[name];
    }
  });

  afterEach(async () => {
    recordRunningOptions(undefined);
    await moduleRef?.close();
    moduleRef = undefined;
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    saved.clear();
  });

  async function compile(): Promise<TestingModule> {
    moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot({ load: [clusterConfig], ignoreEnvFile: true })],
    }).compile();
    return moduleRef;
  }

  it('is registered under the "cluster" namespace', () => {
    expect(clusterConfig.KEY).toBe('CONFIGURATION(cluster)');
  });

  it('reflects the environment through ConfigService', async () => {
    Object.assign(process.env, {
      PORT: '4321',
      CLUSTER_WORKERS: '3',
      CLUSTER_ENABLED: 'off',
      CLUSTER_READY_TIMEOUT_MS: '7000',
      CLUSTER_SHUTDOWN_TIMEOUT_MS: '2500',
      CLUSTER_MAX_RESTARTS: '4',
      CLUSTER_RESTART_WINDOW_MS: '1000',
    });
    const config = (await compile()).get(ConfigService);

    expect(config.get('cluster.port')).toBe(4321);
    expect(config.get('cluster.workers')).toBe(3);
    expect(config.get('cluster.workersSetting')).toBe(3);
    expect(config.get('cluster.enabled')).toBe(false);
    expect(config.get('cluster.readyTimeoutMs')).toBe(7000);
    expect(config.get('cluster.shutdown.timeoutMs')).toBe(2500);
    expect(config.get('cluster.restart.maxRestarts')).toBe(4);
    expect(config.get('cluster.restart.windowMs')).toBe(1000);
  });

  it('gives the defaults when the environment sets nothing', async () => {
    const config = (await compile()).get(ConfigService);
    expect(config.get('cluster')).toEqual({
      workersSetting: 'auto',
      workers: availableCpus().cpus,
      standby: 0,
      enabled: true,
      nodeId: freshNodeId(),
      redisUrl: undefined,
      nats: CLUSTER_DEFAULTS.nats,
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
      messaging: CLUSTER_DEFAULTS.messaging,
      shutdown: { timeoutMs: 10_000, delayMs: 0 },
      leadership: { ttlMs: 9_000, renewMs: 3_000, retryMs: 1_000 },
      restart: CLUSTER_DEFAULTS.restart,
    });
  });

  it('shows the settings the process runs with once bootstrapClustered resolved them: options over environment over defaults', async () => {
    Object.assign(process.env, { CLUSTER_SHUTDOWN_TIMEOUT_MS: '7777', CLUSTER_MAX_RESTARTS: '4' });
    recordRunningOptions(resolveClusterOptions({ shutdown: { timeoutMs: 4321 }, restart: { factor: 3 }, listen: () => undefined }, process.env));
    Object.assign(process.env, { CLUSTER_MAX_RESTARTS: '9' }); // changed after the start: not what runs
    const config = (await compile()).get(ConfigService);
    expect(config.get('cluster.shutdown.timeoutMs')).toBe(4321);
    expect(config.get('cluster.restart.factor')).toBe(3);
    expect(config.get('cluster.restart.maxRestarts')).toBe(4);
    expect(config.get('cluster.readyTimeoutMs')).toBe(30_000);
    expect(config.get<object>('cluster')).not.toHaveProperty('listen');
  });

  it('leaves the hooks out', async () => {
    const config = (await compile()).get(ConfigService);
    const cluster = config.get<object>('cluster');
    expect(cluster).toHaveProperty('port', 3000);
    for (const hook of ['createApp', 'configure', 'listen', 'onPrimaryEvent']) expect(cluster).not.toHaveProperty(hook);
  });

  it('reads the environment at compile time, not at import time', async () => {
    process.env.PORT = '1111';
    expect((await compile()).get(ConfigService).get('cluster.port')).toBe(1111);
    await moduleRef!.close();
    process.env.PORT = '2222';
    expect((await compile()).get(ConfigService).get('cluster.port')).toBe(2222);
  });

  it('can be injected by its KEY', async () => {
    @Injectable()
    class Reader {
      constructor(@Inject(clusterConfig.KEY) readonly cfg: ConfigType<typeof clusterConfig>) {}
    }
    process.env.CLUSTER_SHUTDOWN_TIMEOUT_MS = '1234';
    moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot({ load: [clusterConfig], ignoreEnvFile: true })],
      providers: [Reader],
    }).compile();
    expect(moduleRef.get(Reader).cfg.shutdown.timeoutMs).toBe(1234);
  });

  it('makes module compilation throw ClusterConfigError for an invalid value', async () => {
    process.env.PORT = 'eighty';
    const compiling = compile();
    await expect(compiling).rejects.toBeInstanceOf(ClusterConfigError);
    await expect(compiling).rejects.toMatchObject({
      code: 'CLUSTER_ERR_INVALID_OPTION',
      setting: 'PORT',
      value: 'eighty',
    });
  });

  it('rejects an invalid boolean the same way', async () => {
    process.env.CLUSTER_ENABLED = 'sometimes';
    await expect(compile()).rejects.toMatchObject({ setting: 'CLUSTER_ENABLED', value: 'sometimes' });
  });
});
