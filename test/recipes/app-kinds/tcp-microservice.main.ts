import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

// A TCP microservice: each worker serves connections the primary hands out on the one port.
await bootstrapClustered(AppModule, {
  createApp: (module, { port }) =>
    NestFactory.createMicroservice<MicroserviceOptions>(module, {
      transport: Transport.TCP,
      options: { host: '0.0.0.0', port },
    }),
});
