import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ClusterHealthIndicator } from './cluster.health.js';

/**
 * Provides `ClusterHealthIndicator`. Needs `ClusterService` in scope (`ClusterModule.forRoot({
 * isGlobal: true })`, or import `ClusterModule` next to it).
 */
@Module({
  imports: [TerminusModule],
  providers: [ClusterHealthIndicator],
  exports: [ClusterHealthIndicator],
})
export class ClusterHealthModule {}
