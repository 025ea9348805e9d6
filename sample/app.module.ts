import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { ClusterModule } from 'nestjs-cluster';
import { clusterConfig } from 'nestjs-cluster/config';
import { ClusterHealthModule } from 'nestjs-cluster/health';
import { AppController } from './app.controller.js';
import { ClusterEventsLogger } from './cluster-events.logger.js';
import { HealthController } from './health.controller.js';
import { HitsService } from './hits.service.js';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, load: [clusterConfig] }),
    ClusterModule.forRoot({ isGlobal: true }),
    TerminusModule,
    ClusterHealthModule,
  ],
  controllers: [AppController, HealthController],
  providers: [ClusterEventsLogger, HitsService],
})
export class AppModule {}
