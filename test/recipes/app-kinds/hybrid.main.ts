import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

// A hybrid app: the default listen starts the microservices, then listens on the port.
await bootstrapClustered(AppModule, {
  configure: (app) => {
    app.connectMicroservice<MicroserviceOptions>({ transport: Transport.TCP, options: { port: Number(process.env.TCP_PORT ?? 4000) } });
  },
});
