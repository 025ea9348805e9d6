import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import { ClusterService } from 'nestjs-cluster';
import type { Server, Socket } from 'socket.io';

/**
 * A chat on every core: `say` reaches every client of every worker, `join` puts a client in a room
 * that spans the workers. Start the sample with `CLUSTER_STICKY=sid` so that socket.io's polling
 * requests find their worker (see docs/websockets.md).
 */
@WebSocketGateway({ cors: true })
export class ChatGateway {
  @WebSocketServer() server!: Server;

  constructor(private readonly cluster: ClusterService) {}

  @SubscribeMessage('say')
  say(@MessageBody() text: string): void {
    this.server.emit('said', { text, worker: this.cluster.self.slot });
  }

  @SubscribeMessage('join')
  async join(@ConnectedSocket() client: Socket, @MessageBody() room: string): Promise<{ room: string; members: number }> {
    await client.join(room);
    return { room, members: (await this.server.in(room).fetchSockets()).length };
  }
}
