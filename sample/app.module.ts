import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { ClusterModule } from 'nestjs-cluster';
import { clusterConfig } from 'nestjs-cluster/config';
import { AppController } from './app.controller.js';
import { ClusterEventsLogger } from './cluster-events.logger.js';
import { HitsService } from './hits.service.js';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, load: [clusterConfig] }),
    ClusterModule.forRoot({ isGlobal: true }),
  ],
  controllers: [AppController],
  providers: [ClusterEventsLogger, HitsService],
})
export class AppModule {}
