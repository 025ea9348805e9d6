// search-index.ts: any provider
import { Injectable } from '@nestjs/common';
import { ClusterService, LeaderOnly } from 'nestjs-cluster';

@Injectable()
export class SearchIndex {
  constructor(private readonly cluster: ClusterService) {
    // { node, slot, pid, epoch } or null; replays the current one
    cluster.leader$.subscribe((leader) => console.log('leader:', leader?.slot ?? 'none'));
  }

  role(): string {
    return this.cluster.isLeader() ? 'leader' : 'follower';
  }

  @LeaderOnly() // on any method: runs on the leader, returns undefined on every other worker
  async rebuild(): Promise<string> {
    console.log('rebuilding the search index');
    return 'rebuilt';
  }
}
