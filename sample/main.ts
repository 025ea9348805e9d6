import 'reflect-metadata';
import { bootstrapClustered } from 'nestjs-cluster';
import { ClusterIoAdapter } from 'nestjs-cluster/socket.io';
import { AppModule } from './app.module.js';

// One line is all main.ts needs: the primary forks and supervises, each worker runs AppModule.
await bootstrapClustered(AppModule, {
  workers: 'auto',
  // CLUSTER_STICKY=sid lets socket.io clients start with long-polling (docs/websockets.md).
  configure: (app) => {
    app.enableCors();
    app.useWebSocketAdapter(new ClusterIoAdapter(app));
  },
});
