import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

// A broker transport (NATS here): every worker consumes. Give it a queue group, so that each message goes to
// one worker and not to all of them.
await bootstrapClustered(AppModule, {
  createApp: (module) =>
    NestFactory.createMicroservice<MicroserviceOptions>(module, {
      transport: Transport.NATS,
      options: { servers: ['nats://127.0.0.1:4222'], queue: 'orders' },
    }),
});
