import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { ScheduleModule } from '@nestjs/schedule';
import { TerminusModule } from '@nestjs/terminus';
import { ClusterModule } from 'nestjs-cluster';
import { clusterConfig } from 'nestjs-cluster/config';
import { ClusterHealthModule } from 'nestjs-cluster/health';
import { ClusterScheduleModule } from 'nestjs-cluster/schedule';
import { AppController } from './app.controller.js';
import { ChatGateway } from './chat.gateway.js';
import { ClusterEventsLogger } from './cluster-events.logger.js';
import { HealthController } from './health.controller.js';
import { HitsService } from './hits.service.js';
import { ReportJob } from './report.job.js';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, load: [clusterConfig] }),
    ClusterModule.forRoot({ isGlobal: true }),
    TerminusModule,
    ClusterHealthModule,
    ScheduleModule.forRoot(),
    ClusterScheduleModule,
  ],
  controllers: [AppController, HealthController],
  providers: [ChatGateway, ClusterEventsLogger, HitsService, ReportJob],
})
export class AppModule {}
