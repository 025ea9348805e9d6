import 'reflect-metadata';
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

// One line is all main.ts needs: the primary forks and supervises, each worker runs AppModule.
await bootstrapClustered(AppModule, {
  workers: 'auto',
  configure: (app) => app.enableCors(),
});
