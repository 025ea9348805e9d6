/**
 * The compatibility suite (`npm run test:compat`): the packed library in fresh Nest 11 and 12 projects,
 * on Node 20, 22 and 24. Its specs are `*.compat-spec.ts`, which the main `npm test` never matches.
 * Jest on native ESM: run with NODE_OPTIONS=--experimental-vm-modules (the script does).
 */
import { fileURLToPath } from 'node:url';

const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'es6' },
};

export default {
  rootDir: fileURLToPath(new URL('../..', import.meta.url)),
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/compat/**/*.compat-spec.ts'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.*/dist/'],
  // A case waits for its project's install and compile (minutes on an empty npm cache), then runs a cluster.
  testTimeout: 600_000,
  // Each case runs a cluster of a primary and two workers: two cases at a time keep a 2-core machine busy.
  maxConcurrency: 2,
  maxWorkers: 1,
};
