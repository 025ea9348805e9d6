/** Contender B: the hand-written `cluster.isPrimary` snippet, around the same microservice. */
import cluster from 'node:cluster';
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { HOST, PORT, TcpAppModule, WORKERS } from './tcp-app.js';

if (cluster.isPrimary) {
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  cluster.on('exit', () => cluster.fork());
} else {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(TcpAppModule, {
    transport: Transport.TCP,
    options: { host: HOST, port: PORT },
    logger: false,
  });
  await app.listen();
}
