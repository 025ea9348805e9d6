// events.gateway.ts: an ordinary gateway; nothing cluster-specific in it
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { Server, Socket } from 'socket.io';

@WebSocketGateway()
export class EventsGateway {
  @WebSocketServer() server!: Server;

  @SubscribeMessage('shout')
  shout(@MessageBody() text: string): void {
    this.server.emit('shout', text); // every client of every worker, once
  }

  @SubscribeMessage('join')
  async join(@ConnectedSocket() client: Socket, @MessageBody() room: string): Promise<void> {
    await client.join(room); // this.server.to(room).emit(...) reaches members on any worker
  }
}
