/** The module docs/websockets.md leaves out: the cluster and the gateway. */
import { Module } from '@nestjs/common';
import { ClusterModule } from 'nestjs-cluster';
import { EventsGateway } from './events.gateway.js';

@Module({ imports: [ClusterModule.forRoot({ isGlobal: true })], providers: [EventsGateway] })
export class AppModule {}
