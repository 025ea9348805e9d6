import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

await bootstrapClustered(AppModule, {
  createApp: (module) => NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter()),
  listen: (app, port) => app.listen(port, '0.0.0.0'), // Fastify's own listen signature
});
