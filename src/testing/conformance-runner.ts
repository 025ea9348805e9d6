/**
 * What the conformance suites share: the test runner they register with, and the checks and bounded
 * waits their cases are written with. No test framework is imported: the runner's `describe` and `it`
 * are passed in, or found where jest, vitest (with globals) and mocha put them.
 */

/** A runner's test function, with its `skip` (jest, vitest and mocha all have one). */
export interface ConformanceTest {
  (name: string, body: () => Promise<void>, timeoutMs?: number): void;
  skip?(name: string, body: () => Promise<void>, timeoutMs?: number): void;
}

/** The test functions of a runner: jest's, vitest's or mocha's. */
export interface ConformanceRunner {
  describe(name: string, body: () => void): void;
  it: ConformanceTest;
  /** Runs once after the suite's tests (jest's and vitest's `afterAll`, mocha's `after`): closes a shared cluster. */
  afterAll?(body: () => Promise<void>): void;
}

// The test runner's own, when it puts them in scope (jest, vitest with `globals`, mocha); read with
// `typeof`, so a process without them gets `undefined` rather than a ReferenceError.
declare const describe: ConformanceRunner['describe'] | undefined;
declare const it: ConformanceTest | undefined;
declare const afterAll: ConformanceRunner['afterAll'] | undefined;
declare const after: ConformanceRunner['afterAll'] | undefined;

/** How long one case may take, whatever the implementation under test. */
export const CASE_TIMEOUT_MS = 30_000;

/** One case as registered: a title, the test, and why it cannot run, if it cannot. */
export interface RegisteredCase {
  readonly title: string;
  run(): Promise<void>;
  /** How long it may take, when longer than `CASE_TIMEOUT_MS`. */
  readonly timeoutMs?: number;
  /** Set when the implementation lacks what the case needs: the case is reported as skipped, with this in its title. */
  readonly skipped?: string;
}

/**
 * Registers `cases` under one `describe`. A case that cannot run is given to `it.skip` with the reason
 * in its title, so the count of cases stays the same and none passes without running; a runner without
 * `skip` is not told of it at all.
 */
export function registerCases(
  suite: string,
  title: string,
  cases: readonly RegisteredCase[],
  given: ConformanceRunner | undefined,
  cleanup?: () => Promise<void>,
): void {
  const runner = given ?? ambientRunner();
  if (typeof runner?.describe !== 'function' || typeof runner.it !== 'function') {
    throw new TypeError(`${suite} needs describe() and it(): run it under a test runner, or pass them`);
  }
  if (cleanup && typeof runner.afterAll !== 'function') {
    throw new TypeError(`${suite} with a shared cluster needs afterAll() to close it: run it under a test runner that has one, or pass it`);
  }
  runner.describe(title, () => {
    if (cleanup) runner.afterAll!(cleanup);
    for (const c of cases) {
      if (c.skipped === undefined) runner.it(c.title, c.run, (c.timeoutMs ?? CASE_TIMEOUT_MS) + 10_000);
      else runner.it.skip?.(`${c.title} (${c.skipped})`, c.run);
    }
  });
}

function ambientRunner(): ConformanceRunner | undefined {
  if (typeof describe !== 'function' || typeof it !== 'function') return undefined;
  const afterAllOfRunner = typeof afterAll === 'function' ? afterAll : typeof after === 'function' ? after : undefined;
  return { describe, it, ...(afterAllOfRunner ? { afterAll: afterAllOfRunner } : {}) };
}

/** A conformance case found the implementation behaving otherwise than the contract says. */
export class ConformanceError extends Error {
  override readonly name = 'ConformanceError';
}

export function expect(condition: boolean, what: string): asserts condition {
  if (!condition) throw new ConformanceError(what);
}

/** Resolves once `done()` holds, checking every few milliseconds; rejects with `what()` after `ms`. */
export async function eventually(done: () => boolean | Promise<boolean>, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new ConformanceError(`${what()} (waited ${ms} ms)`);
    await delay(10);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `work`, or a `ConformanceError` naming `what` once `ms` have passed. */
export function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConformanceError(`"${what}" did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

export function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

export function sameList(actual: readonly unknown[], expected: readonly unknown[]): boolean {
  return actual.length === expected.length && actual.every((value, i) => value === expected[i]);
}
