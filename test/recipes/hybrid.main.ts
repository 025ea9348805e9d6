import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

await bootstrapClustered(AppModule, {
  port: 3000,
  configure: (app) => {
    app.connectMicroservice<MicroserviceOptions>({ transport: Transport.TCP, options: { port: 4000 } });
  },
  // The default listen starts the microservices, then listens on the port.
});
