/** Contender A: the microservice in one process. */
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { HOST, PORT, TcpAppModule } from './tcp-app.js';

const app = await NestFactory.createMicroservice<MicroserviceOptions>(TcpAppModule, {
  transport: Transport.TCP,
  options: { host: HOST, port: PORT },
  logger: false,
});
await app.listen();
