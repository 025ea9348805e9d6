import { ValidationPipe } from '@nestjs/common';
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

await bootstrapClustered(AppModule, {
  workers: 'auto',
  port: 3000,
  configure: (app) => {
    app.useGlobalPipes(new ValidationPipe());
    app.enableCors();
  },
  listen: (app, port) => app.listen(port, '0.0.0.0'),
});
