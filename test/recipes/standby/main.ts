// main.ts: one warm standby beside the workers
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

await bootstrapClustered(AppModule, { standby: 1 });
