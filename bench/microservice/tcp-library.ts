/** Contender C: the same microservice through `bootstrapClustered`. */
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { bootstrapClustered } from 'nestjs-cluster';
import { HOST, TcpAppModule, WORKERS } from './tcp-app.js';

await bootstrapClustered(TcpAppModule, {
  workers: WORKERS,
  createApp: (module, { port }) =>
    NestFactory.createMicroservice<MicroserviceOptions>(module, { transport: Transport.TCP, options: { host: HOST, port }, logger: false }),
});
