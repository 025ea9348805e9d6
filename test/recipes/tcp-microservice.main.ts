import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

await bootstrapClustered(AppModule, {
  createApp: (module, { port }) =>
    NestFactory.createMicroservice<MicroserviceOptions>(module, {
      transport: Transport.TCP,
      options: { host: '0.0.0.0', port },
    }),
  configure: (app) => {
    app.useGlobalPipes(); // `app` is an INestMicroservice here
  },
});
