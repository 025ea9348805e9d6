/**
 * The compatibility suite (`npm run test:compat`): the packed library in fresh Nest 11 and 12 projects,
 * on Node 20, 22 and 24. Its specs are `*.compat-spec.ts`, which the main `npm test` never matches.
 * The transform and module mapping are the main suite's; Jest on native ESM: run with
 * NODE_OPTIONS=--experimental-vm-modules (the script does).
 */
import { fileURLToPath } from 'node:url';
import main from '../../jest.config.js';

export default {
  rootDir: fileURLToPath(new URL('../..', import.meta.url)),
  testEnvironment: main.testEnvironment,
  extensionsToTreatAsEsm: main.extensionsToTreatAsEsm,
  transform: main.transform,
  moduleFileExtensions: main.moduleFileExtensions,
  moduleNameMapper: main.moduleNameMapper,
  modulePathIgnorePatterns: main.modulePathIgnorePatterns,
  testMatch: ['<rootDir>/test/compat/**/*.compat-spec.ts'],
  // A case waits for its project's install and compile (minutes on an empty npm cache), then runs a cluster.
  testTimeout: 600_000,
  // Each case runs a cluster of a primary and two workers: two cases at a time keep a 2-core machine busy.
  maxConcurrency: 2,
  maxWorkers: 1,
};
