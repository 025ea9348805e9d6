// watcher.ts: any provider
import { Injectable } from '@nestjs/common';
import { ClusterService, type WorkerExitEvent } from 'nestjs-cluster';
import { filter } from 'rxjs';

@Injectable()
export class Watcher {
  constructor(private readonly cluster: ClusterService) {
    cluster.events$
      .pipe(filter((e): e is WorkerExitEvent => e.type === 'exit' && !e.expected))
      .subscribe((e) => console.log(`worker ${e.slot} exited: ${e.reason}`));
  }
}
