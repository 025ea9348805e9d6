import { Injectable } from '@nestjs/common';
import { ClusterRequestHandler, ClusterService, OnClusterMessage, type ScatterResult } from 'nestjs-cluster';

/** Requests served, summed, and each worker's count by node and slot. */
export type HitsTotal = Pick<ScatterResult<number>, 'replies' | 'missing'> & { total: number };

/**
 * Per-worker state made cluster-wide with messages: each worker counts the requests it served, any
 * worker can sum them all (scatter-gather), and a reset reaches every worker (publish).
 */
@Injectable()
export class HitsService {
  private hits = 0;

  constructor(private readonly cluster: ClusterService) {}

  hit(): void {
    this.hits += 1;
  }

  @ClusterRequestHandler('hits.count')
  count(): number {
    return this.hits;
  }

  @OnClusterMessage('hits.reset')
  reset(): void {
    this.hits = 0;
  }

  /** Asks every worker for its count. */
  async total(): Promise<HitsTotal> {
    const { replies, missing } = await this.cluster.requestAll<number>('hits.count', null, { timeoutMs: 500 });
    const total = replies.reduce((sum, r) => sum + r.data, 0);
    return { total, replies, missing };
  }

  resetEverywhere(): void {
    this.cluster.publish('hits.reset', null, { includeSelf: true });
  }
}
