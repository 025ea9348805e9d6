// src/app.module.ts
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ClusterModule } from 'nestjs-cluster';
import { ClusterHealthModule } from 'nestjs-cluster/health';
import { AppController } from './app.controller';
import { AppService } from './app.service';
import { HealthController } from './health.controller';

@Module({
  imports: [ClusterModule.forRoot({ isGlobal: true }), TerminusModule, ClusterHealthModule],
  controllers: [AppController, HealthController],
  providers: [AppService],
})
export class AppModule {}
