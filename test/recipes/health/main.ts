/** Boots the module of the docs' recipe as the README's main.ts does. */
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

await bootstrapClustered(AppModule);
