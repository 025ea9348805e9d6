// sessions.ts: the same with decorators, on any provider or controller
import { Injectable } from '@nestjs/common';
import { ClusterRequestHandler, OnClusterMessage, type ClusterMessage } from 'nestjs-cluster';

@Injectable()
export class Sessions {
  private readonly sessions = new Set<string>();
  private readonly cache = new Map<string, string>();

  @ClusterRequestHandler('sessions.count')
  count(): number {
    return this.sessions.size;
  }

  @OnClusterMessage('cache.invalidate')
  invalidate(data: { key: string }, message: ClusterMessage): void {
    this.cache.delete(data.key);
    console.log(`worker ${message.from.slot} invalidated ${data.key}`);
  }
}
