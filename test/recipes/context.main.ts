import { NestFactory } from '@nestjs/core';
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

const app = await bootstrapClustered(AppModule, {
  createApp: (module) => NestFactory.createApplicationContext(module),
});
// In a worker: the INestApplicationContext, initialized; in the primary: undefined.
app?.get(AppModule);
