// app.module.ts
import { Controller, Get, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { clusterConfig } from 'nestjs-cluster/config';

@Controller('settings')
export class SettingsController {
  constructor(private readonly config: ConfigService) {}

  @Get()
  settings() {
    // what this cluster runs with: explicit option > environment > default
    return { shutdownTimeoutMs: this.config.get<number>('cluster.shutdown.timeoutMs') };
  }
}

@Module({ imports: [ConfigModule.forRoot({ load: [clusterConfig] })], controllers: [SettingsController] })
export class AppModule {}
