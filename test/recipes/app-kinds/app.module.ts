/**
 * The module docs/app-kinds.md's recipes for every kind of app boot (their blocks leave it out): it says
 * which worker answers, over HTTP (GET /whoami) and as a message pattern (WHOAMI_PATTERN, default
 * `whoami`: a test sharing a NATS server names its own subject).
 */
import { Controller, Get, Module } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { ClusterModule, ClusterService } from 'nestjs-cluster';

@Controller()
export class WhoAmIController {
  constructor(private readonly cluster: ClusterService) {}

  @Get('whoami')
  overHttp() {
    return { pid: process.pid, slot: this.cluster.self.slot };
  }

  @MessagePattern(process.env.WHOAMI_PATTERN ?? 'whoami')
  asMessage() {
    return { pid: process.pid, slot: this.cluster.self.slot };
  }
}

@Module({ imports: [ClusterModule.forRoot({ isGlobal: true })], controllers: [WhoAmIController] })
export class AppModule {}
