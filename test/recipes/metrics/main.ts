/** Boots the module of the docs' recipe as docs/app-kinds.md's main.ts does. */
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

await bootstrapClustered(AppModule);
