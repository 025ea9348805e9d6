import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

await bootstrapClustered(AppModule, {
  createApp: (module) =>
    NestFactory.createMicroservice<MicroserviceOptions>(module, {
      transport: Transport.NATS,
      // A queue group: each message goes to one worker, not to all of them.
      options: { servers: ['nats://127.0.0.1:4222'], queue: 'orders' },
    }),
});
