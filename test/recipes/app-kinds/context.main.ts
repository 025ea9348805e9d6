import { NestFactory } from '@nestjs/core';
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

// An application context with no listener (a queue consumer, a worker of jobs).
await bootstrapClustered(AppModule, { createApp: (module) => NestFactory.createApplicationContext(module) });
