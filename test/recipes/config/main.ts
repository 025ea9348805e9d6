/** Boots docs/configuration.md's clusterConfig module with an explicit option, which its controller must show. */
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

await bootstrapClustered(AppModule, { shutdown: { timeoutMs: 4321 } });
