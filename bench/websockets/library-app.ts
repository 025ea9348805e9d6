/**
 * nestjs-cluster serving HTTP and a socket.io gateway. `BENCH_STICKY` (`sid` or `off`) picks sticky
 * sessions through the primary or node:cluster's round robin. `burst` makes the receiving worker
 * broadcast `count` messages to every client of every worker.
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import { bootstrapClustered, ClusterModule } from 'nestjs-cluster';
import { ClusterIoAdapter } from 'nestjs-cluster/socket.io';
import type { Server } from 'socket.io';

@WebSocketGateway()
class BenchGateway {
  @WebSocketServer() server!: Server;

  @SubscribeMessage('burst')
  burst(@MessageBody() count: number): number {
    for (let i = 0; i < count; i++) this.server.emit('m', i);
    return count;
  }
}

@Controller()
class BenchController {
  @Get()
  root(): object {
    return { pid: process.pid };
  }
}

@Module({ imports: [ClusterModule.forRoot({ isGlobal: true })], controllers: [BenchController], providers: [BenchGateway] })
class BenchModule {}

const sticky = process.env.BENCH_STICKY === 'sid' ? 'sid' : false;
await bootstrapClustered(BenchModule, {
  sticky,
  configure: (app) => {
    app.useWebSocketAdapter(new ClusterIoAdapter(app));
  },
  listen: sticky ? undefined : (app, port) => app.listen(port, '127.0.0.1'),
});
