/** Jest on native ESM: run with NODE_OPTIONS=--experimental-vm-modules (the `test` script does). */
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'es6' },
};

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', swc],
    // A `.cts` file is CommonJS in both builds of the package (it may use `__filename`).
    '^.+\\.cts$': ['@swc/jest', { ...swc, module: { type: 'commonjs' } }],
  },
  moduleFileExtensions: ['ts', 'cts', 'js', 'cjs', 'mjs', 'json'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // Only ours: packages in node_modules require real `.cjs` files.
    '^(\\.{1,2}/(?:.*/)?common/package-require)\\.cjs$': '$1.cts',
  },
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.*/dist/'],
  testTimeout: 60_000,
  // The e2e suites spend most of their time waiting on forked processes (drains, heartbeats, timers):
  // one suite at a time keeps well under half a core busy on average (user + system time of a run of
  // schedule, hardening, leadership-nodes and control with --maxWorkers=1: 67 s of CPU in 272 s), so
  // four at once still leave a 2-core machine room for the boots; every bound in the suites holds
  // under a load average of 20. Each cluster and server takes a free port of its own.
  maxWorkers: 4,
  testSequencer: '<rootDir>/jest.sequencer.js',
};
