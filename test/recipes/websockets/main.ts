// main.ts
import { bootstrapClustered } from 'nestjs-cluster';
import { ClusterIoAdapter } from 'nestjs-cluster/socket.io';
import { AppModule } from './app.module.js';

await bootstrapClustered(AppModule, {
  sticky: 'sid',
  configure: (app) => {
    app.useWebSocketAdapter(new ClusterIoAdapter(app));
  },
});
