import type { ClusterTransport } from '../transports/cluster-transport.interface.js';
import { CASE_TIMEOUT_MS, registerCases, within, type ConformanceRunner } from './conformance-runner.js';
import { CONFORMANCE_CASES } from './transport-cases.js';

/** A cluster built for one case: one transport per member, each in its own process or not. */
export interface ConformanceCluster {
  /**
   * One transport per member, each already ready and listing every member as `ready` in `workers()`.
   * Members may be proxies of transports living in other processes.
   */
  readonly members: readonly ClusterTransport[];
  /**
   * Takes member `index` out of the cluster the way a process leaves it (it exits, crashes or is cut
   * off). Needed by the membership case; without it that case is skipped.
   */
  remove?(index: number): Promise<void>;
  /** Stops everything the cluster started. Called once per case, also after a failure. */
  close(): Promise<void>;
}

/** Builds clusters of the transport under test. */
export interface ConformanceFactory {
  /** Most members one cluster can have (a standalone transport: 1). Cases that need more are skipped. */
  readonly maxMembers: number;
  /**
   * `true`: the cases run on one cluster of `maxMembers`, built for the first case and closed after the
   * last (with the runner's `afterAll`); a case that asks for fewer members is given the first ones,
   * and the others stay by, silent. A case that fails closes it, so that the next one starts on a
   * fresh cluster; the case that takes a member out always gets a cluster of its own. For clusters
   * that take seconds to start (forked processes). Default `false`: a fresh cluster for every case.
   */
  readonly shareCluster?: boolean;
  create(members: number): Promise<ConformanceCluster>;
}

/** One behaviour every transport must have. */
export interface ConformanceCase {
  readonly name: string;
  /** Members the case asks for, if the factory can build that many. */
  readonly members: number;
  /** Fewest members it can run with. */
  readonly minMembers: number;
  /** It changes who is in the cluster: it never runs on a shared one. */
  readonly changesMembership?: boolean;
  /** Resolves when the transport behaves; rejects with what it did instead. */
  run(cluster: ConformanceCluster): Promise<void>;
}

/**
 * Registers the conformance suite of `name` with the test runner: one test per behaviour, each on a
 * fresh cluster from `factory` (or on one shared cluster: `factory.shareCluster`). Cases that need
 * more members than `factory.maxMembers` are reported as skipped (`it.skip`), with the number they
 * need in their title, so the count of cases stays the same and none passes without running.
 *
 * `runner` defaults to the runner's globals (jest, vitest with `globals`, mocha); pass
 * `{ describe, it }` where they are not global.
 *
 * @example
 * ```ts
 * // my-transport.spec.ts (jest or vitest with globals)
 * import { transportConformance } from 'nestjs-cluster/testing';
 * transportConformance('MyTransport', { maxMembers: 3, create: (n) => startMyCluster(n) });
 * ```
 */
export function transportConformance(name: string, factory: ConformanceFactory, runner?: ConformanceRunner): void {
  const shared = factory.shareCluster ? new SharedCluster(factory) : undefined;
  registerCases(
    'transportConformance',
    `${name} conforms to ClusterTransport`,
    CONFORMANCE_CASES.map((conformance) => ({
      title: conformance.name,
      run: () => (!shared ? runCase(conformance, factory) : conformance.changesMembership ? shared.aside(conformance) : shared.run(conformance)),
      skipped: conformance.minMembers <= factory.maxMembers ? undefined : `needs ${conformance.minMembers} members`,
    })),
    runner,
    shared && (() => shared.close()),
  );
}

/** Runs one case on a fresh cluster and closes it, whatever happens. */
export async function runCase(conformance: ConformanceCase, factory: ConformanceFactory): Promise<void> {
  const cluster = await factory.create(Math.min(conformance.members, factory.maxMembers));
  try {
    await within(conformance.run(cluster), CASE_TIMEOUT_MS, conformance.name);
  } finally {
    await cluster.close();
  }
}

/** One cluster of `maxMembers` that the cases take turns on; a failed case leaves the next a fresh one. */
class SharedCluster {
  private cluster: Promise<ConformanceCluster> | undefined;

  constructor(private readonly factory: ConformanceFactory) {}

  async run(conformance: ConformanceCase): Promise<void> {
    this.cluster ??= this.factory.create(this.factory.maxMembers);
    const cluster = await this.cluster.catch(async (error: unknown) => {
      this.cluster = undefined;
      throw error;
    });
    const members = cluster.members.slice(0, Math.min(conformance.members, this.factory.maxMembers));
    try {
      await within(conformance.run({ members, close: async () => undefined }), CASE_TIMEOUT_MS, conformance.name);
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** Runs a case on a cluster of its own, with the shared one closed first: one cluster at a time. */
  async aside(conformance: ConformanceCase): Promise<void> {
    await this.close();
    await runCase(conformance, this.factory);
  }

  async close(): Promise<void> {
    const cluster = this.cluster;
    this.cluster = undefined;
    await cluster?.then(
      (c) => c.close(),
      () => undefined,
    );
  }
}
