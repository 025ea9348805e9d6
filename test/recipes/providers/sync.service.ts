import { Injectable } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { LeaderOnly } from 'nestjs-cluster';

@Injectable()
export class SyncService {
  constructor(private readonly registry: SchedulerRegistry) {}

  startSync(): void {
    // added at run time, so it runs on every worker: the work guards itself
    const timer = setInterval(() => this.syncIfLeader(), 60_000);
    this.registry.addInterval('sync', timer);
  }

  @LeaderOnly() // runs on the leader; returns undefined on every other worker
  syncIfLeader(): void {
    console.log('synced');
  }
}
