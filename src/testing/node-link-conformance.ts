import type { ClusterEvent } from '../interfaces/cluster-event.interface.js';
import type { WorkerInfo } from '../interfaces/worker-info.interface.js';
import type { Leader } from '../leadership/leader.interface.js';
import type { MessageEnvelope } from '../messaging/envelope.js';
import { payloadCodec, type PayloadCodec, type Serialization } from '../messaging/payload-codec.js';
import type { LocalNode, NodeLink } from '../transports/node-link.interface.js';
import { CASE_TIMEOUT_MS, expect, registerCases, within, type ConformanceRunner } from './conformance-runner.js';
import { MEMBERSHIP_CASES } from './node-link-cases.js';
import { LEASE_CASES } from './node-link-lease-cases.js';
import { LIFECYCLE_CASES } from './node-link-lifecycle-cases.js';

/** The links of one cluster, built for one case on a backend of the factory's (a Redis, a NATS server, a shared object). */
export interface NodeLinkCluster {
  /**
   * One link per node named in `create`, in that order, not started: the case starts each with a
   * `LocalNode` of its own, and closes those it has not closed before `close()`.
   */
  readonly links: readonly NodeLink[];
  /**
   * Takes the backend away from every link (the server stops, the network drops), as an outage
   * would. Needed by the outage case, with `restore`; the factory says it has both with `outage: true`.
   */
  cut?(): Promise<void>;
  /** Gives the backend back after `cut`. */
  restore?(): Promise<void>;
  /** Stops whatever the cluster started besides the links. Called once per case, also after a failure. */
  close(): Promise<void>;
}

/** Builds clusters of the link under test. */
export interface NodeLinkFactory {
  /** A link for each of `nodes` (new names for each case), all of one cluster that no other case shares. */
  create(nodes: readonly string[]): Promise<NodeLinkCluster>;
  /** The clusters have `cut()` and `restore()`: the outage case runs. Without, it is reported as skipped. */
  readonly outage?: boolean;
  /** The links offer a `lease`: the lease cases run (and fail where a link has none). Without, they are reported as skipped. */
  readonly lease?: boolean;
  /** How the links check payloads; the cases' messages carry data encoded so. @default 'json' */
  readonly serialization?: Serialization;
  /**
   * Longest a change of one node (its workers, topics or leader) may take to show on the others: the
   * link's heartbeat period and some. Goodbyes and messages must be quicker: they do not wait for it.
   * @default 10000
   */
  readonly settleMs?: number;
}

/** One behaviour every link must have. */
export interface NodeLinkCase {
  readonly name: string;
  /** Nodes of the cluster it runs on. */
  readonly nodes: number;
  /** What the factory must offer for it to run. */
  readonly needs?: 'outage' | 'lease';
  /** How long it may take, when longer than the suite's 30 s. */
  readonly timeoutMs?: number;
  /** Resolves when the links behave; rejects with what they did instead. */
  run(cluster: LinkedCluster): Promise<void>;
}

/** A cluster of started links, as a case sees it. */
export interface LinkedCluster {
  readonly nodes: readonly LinkedNode[];
  readonly backend: NodeLinkCluster;
  readonly factory: NodeLinkFactory;
  readonly settleMs: number;
  readonly codec: PayloadCodec;
  /** Closes node `index`'s link (its goodbye); the harness closes the others after the case. */
  close(index: number): Promise<void>;
}

export interface LinkedNode {
  /** The node's name, as given to the factory. */
  readonly node: string;
  readonly link: NodeLink;
  /** The node as its link sees it: set what it reports, read what it was told. */
  readonly local: RecordingNode;
  readonly closed: boolean;
}

/**
 * Registers the conformance suite of the `NodeLink` `name` with the test runner: one test per
 * behaviour of the contract, each on a fresh cluster of links from `factory`, started with a
 * `LocalNode` the case controls. Cases that need what the factory does not offer (an outage, a lease)
 * are reported as skipped (`it.skip`), never as passed.
 *
 * `runner` defaults to the runner's globals (jest, vitest with `globals`, mocha); pass
 * `{ describe, it }` where they are not global.
 *
 * @example
 * ```ts
 * // my-link.spec.ts (jest or vitest with globals)
 * import { nodeLinkConformance } from 'nestjs-cluster/testing';
 * nodeLinkConformance('MyLink', { create: async (nodes) => ({ links: nodes.map((n) => new MyLink(url, n)), close: async () => {} }) });
 * ```
 */
export function nodeLinkConformance(name: string, factory: NodeLinkFactory, runner?: ConformanceRunner): void {
  registerCases(
    'nodeLinkConformance',
    `${name} conforms to NodeLink`,
    [...MEMBERSHIP_CASES, ...LIFECYCLE_CASES, ...LEASE_CASES].map((conformance) => ({
      title: conformance.name,
      run: () => runLinkCase(conformance, factory),
      timeoutMs: conformance.timeoutMs,
      skipped: conformance.needs === undefined || factory[conformance.needs] ? undefined : `the factory offers no ${conformance.needs}`,
    })),
    runner,
  );
}

let clusters = 0;

/** Runs one case on a fresh cluster of started links and closes everything, whatever happens. */
export async function runLinkCase(conformance: NodeLinkCase, factory: NodeLinkFactory): Promise<void> {
  const cluster = ++clusters;
  const names = Array.from({ length: conformance.nodes }, (_, i) => `conformance-${process.pid}-${cluster}-${String.fromCharCode(97 + i)}`);
  const backend = await factory.create(names);
  const nodes = names.map((node, i) => ({ node, link: backend.links[i]!, local: new RecordingNode(node, i), closed: false }));
  const linked: LinkedCluster = {
    nodes,
    backend,
    factory,
    settleMs: factory.settleMs ?? 10_000,
    codec: payloadCodec(factory.serialization ?? 'json'),
    async close(index) {
      nodes[index]!.closed = true;
      await nodes[index]!.link.close();
    },
  };
  try {
    expect(backend.links.length === names.length, `create() gave ${backend.links.length} link(s) for ${names.length} node(s)`);
    for (const { link, local } of nodes) link.start(local);
    await within(conformance.run(linked), conformance.timeoutMs ?? CASE_TIMEOUT_MS, conformance.name);
  } finally {
    await Promise.all(nodes.filter((n) => !n.closed && n.link).map((n) => n.link.close().catch(() => undefined)));
    await backend.close();
  }
}

/** A node whose link is under test: what it reports is set by the case, what it is told is recorded. */
export class RecordingNode implements LocalNode {
  workerList: WorkerInfo[];
  topicList: string[];
  leaderNow: Leader | null = null;
  readonly messages: Array<{ readonly from: string; readonly message: MessageEnvelope }> = [];
  readonly events: Array<ClusterEvent | undefined> = [];
  readonly departed: string[] = [];
  /** Called first in `changed`, to read the link's view at that moment. */
  onChanged: ((event?: ClusterEvent) => void) | undefined;

  constructor(
    readonly node: string,
    index: number,
  ) {
    // Slot 0 ready, slot 1 still starting: `serves` must tell them apart.
    this.workerList = [workerOf(node, 0, index * 10 + 1, 'ready'), workerOf(node, 1, index * 10 + 2, 'starting')];
    this.topicList = [`conformance.topic-of-${index}`];
  }

  workers(): readonly WorkerInfo[] {
    return this.workerList;
  }

  topics(): readonly string[] {
    return this.topicList;
  }

  leader(): Leader | null {
    return this.leaderNow;
  }

  message(from: string, message: MessageEnvelope): void {
    this.messages.push({ from, message });
  }

  changed(event?: ClusterEvent): void {
    this.onChanged?.(event);
    this.events.push(event);
  }

  gone(node: string): void {
    this.departed.push(node);
  }
}

export function workerOf(node: string, slot: number, id: number, state: WorkerInfo['state']): WorkerInfo {
  const now = Date.now();
  return { node, slot, id, pid: process.pid, state, startedAt: now, readyAt: state === 'ready' ? now : null, restarts: 0, congested: false };
}
