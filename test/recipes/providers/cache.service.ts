// cache.service.ts: messages between workers, from any provider
import { Injectable } from '@nestjs/common';
import { ClusterService } from 'nestjs-cluster';

@Injectable()
export class CacheService {
  private readonly entries = new Map<string, string>();

  constructor(private readonly cluster: ClusterService) {
    cluster.on<{ key: string }>('cache.invalidate').subscribe(({ data }) => this.entries.delete(data.key));
    cluster.handle('cache.size', () => this.entries.size); // one handler per topic and process
  }

  invalidate(key: string): void {
    this.entries.delete(key);
    this.cluster.publish('cache.invalidate', { key }); // to every other worker (and to this one with { includeSelf: true })
  }

  invalidateOn(slot: number, key: string): void {
    this.cluster.send(slot, 'cache.invalidate', { key }); // to one slot of this node (or to { node, slot } anywhere)
  }

  sizeOn(slot: number): Promise<number> {
    // request/reply: to a slot, or without `to` to one worker that handles the topic (round-robin among them)
    return this.cluster.request<number>('cache.size', null, { to: slot, timeoutMs: 500 });
  }

  async totalSize(): Promise<number> {
    // scatter-gather: every worker; replies: [{ node, slot, data }], missing: [{ node, slot }]
    const { replies } = await this.cluster.requestAll<number>('cache.size', null, { timeoutMs: 500 });
    return replies.reduce((sum, r) => sum + r.data, 0);
  }
}
