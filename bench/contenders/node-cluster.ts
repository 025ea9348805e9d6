/** Contender B: the hand-written `cluster.isPrimary` snippet most NestJS projects start from. */
import cluster from 'node:cluster';
import { NestFactory } from '@nestjs/core';
import { AppModule, HOST, PORT, WORKERS } from '../lib/sample-app.js';

if (cluster.isPrimary) {
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  cluster.on('exit', () => cluster.fork());
} else {
  const app = await NestFactory.create(AppModule);
  await app.listen(PORT, HOST);
}
