/** The TCP microservice every contender serves: one tiny request/response pattern. */
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';

@Controller()
class EchoController {
  @MessagePattern('echo')
  echo(@Payload() data: { n: number }): { n: number; pid: number } {
    return { n: data.n, pid: process.pid };
  }
}

@Module({ controllers: [EchoController] })
export class TcpAppModule {}

export const PORT = Number(process.env.PORT);
export const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
export const HOST = '127.0.0.1';
