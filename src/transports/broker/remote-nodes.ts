import type { WorkerAddress } from '../../interfaces/cluster-event.interface.js';
import type { WorkerInfo } from '../../interfaces/worker-info.interface.js';
import { sameLeader, type Leader } from '../../leadership/leader.interface.js';

/** What a node says of itself in each heartbeat. */
export interface NodeHeartbeat {
  readonly node: string;
  readonly workers: readonly WorkerInfo[];
  readonly topics: readonly string[];
  /** The leader it appointed (it holds the lease), or `null`. */
  readonly leader?: Leader | null;
}

interface Member {
  workers: readonly WorkerInfo[];
  topics: ReadonlySet<string>;
  leader: Leader | null;
  lastSeen: number;
}

/**
 * The other nodes of the cluster, as their heartbeats describe them. A node is known from its first
 * heartbeat to its `bye` or until it has been silent `expiryMs`.
 */
export class RemoteNodes {
  private readonly members = new Map<string, Member>();
  private readonly turn = new Map<string, number>();

  constructor(private readonly expiryMs: number) {}

  /** Records a heartbeat; `joined` for a node seen for the first time, `changed` when its workers or topics differ. */
  heard(beat: NodeHeartbeat, now: number): 'joined' | 'changed' | 'same' {
    const known = this.members.get(beat.node);
    const topics = new Set(beat.topics);
    const leader = beat.leader ?? null;
    this.members.set(beat.node, { workers: beat.workers, topics, leader, lastSeen: now });
    if (!known) return 'joined';
    return sameWorkers(known.workers, beat.workers) && sameSet(known.topics, topics) && sameLeader(known.leader, leader) ? 'same' : 'changed';
  }

  /** A node announced a change of its leader between heartbeats; `false` if it is not known or nothing changed. */
  claimed(node: string, leader: Leader | null): boolean {
    const member = this.members.get(node);
    if (!member || sameLeader(member.leader, leader)) return false;
    member.leader = leader;
    return true;
  }

  /**
   * The leader the live nodes announce: the one of the latest epoch. Two claims can meet only for a
   * moment (a holder that let go has not said so yet); the later epoch is the one that counts.
   */
  leader(): Leader | null {
    let latest: Leader | null = null;
    for (const { leader } of this.members.values()) if (leader && (!latest || leader.epoch > latest.epoch)) latest = leader;
    return latest;
  }

  /** Forgets a node; `false` if it was not known. */
  forget(node: string): boolean {
    return this.members.delete(node);
  }

  /** Nodes silent for `expiryMs` or longer, forgotten now. */
  expire(now: number): string[] {
    const expired: string[] = [];
    for (const [node, member] of this.members) {
      if (now - member.lastSeen >= this.expiryMs) {
        this.members.delete(node);
        expired.push(node);
      }
    }
    return expired;
  }

  /**
   * The link went down: the leaders heard before no longer count. Every node steps down when it
   * loses Redis, so a claim heard before may be over; it counts again once heard over the link.
   */
  forgetLeaders(): void {
    for (const member of this.members.values()) member.leader = null;
  }

  /** While the link was down nobody could be heard: every node's silence starts over from `now`. */
  restartClocks(now: number): void {
    for (const member of this.members.values()) member.lastSeen = now;
  }

  knows(node: string): boolean {
    return this.members.has(node);
  }

  serves({ node, slot }: WorkerAddress): boolean {
    return this.members.get(node)?.workers.some((w) => w.slot === slot && w.state === 'ready') ?? false;
  }

  /** Nodes that handle `topic`, rotated on each call so requests spread over them. */
  handlersOf(topic: string): string[] {
    const nodes = [...this.members].filter(([, m]) => m.topics.has(topic)).map(([node]) => node);
    if (nodes.length < 2) return nodes;
    const turn = (this.turn.get(topic) ?? 0) % nodes.length;
    this.turn.set(topic, turn + 1);
    return [...nodes.slice(turn), ...nodes.slice(0, turn)];
  }

  workers(): WorkerInfo[] {
    return [...this.members.keys()].sort().flatMap((node) => this.members.get(node)!.workers);
  }

  nodes(): string[] {
    return [...this.members.keys()];
  }
}

function sameWorkers(a: readonly WorkerInfo[], b: readonly WorkerInfo[]): boolean {
  return a.length === b.length && a.every((w, i) => w.id === b[i]!.id && w.state === b[i]!.state && w.congested === b[i]!.congested);
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}
