import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

// HTTP on Fastify: `app` is a NestFastifyApplication in `configure` and `listen`.
await bootstrapClustered(AppModule, {
  createApp: (module) => NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter()),
  host: '0.0.0.0', // Fastify listens on localhost only unless told; works with sticky too
});
