import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NoHandlerError } from 'nestjs-cluster';
import {
  errorReply,
  MembershipTransport,
  type ClusterEvent,
  type ClusterState,
  type MessageEnvelope,
  type MessageLimits,
  type Serialization,
  type WorkerIdentity,
  type WorkerInfo,
} from 'nestjs-cluster/transport';
import type { ConformanceCluster } from 'nestjs-cluster/testing';
import { ClusterProcess } from './cluster-process.js';
import type { NatsServer } from './nats-server.js';
import type { RedisServer } from './redis-server.js';

const CONFORMANCE_IPC = fileURLToPath(new URL('../fixtures/dist/conformance-ipc.js', import.meta.url));

interface Hello {
  readonly self: WorkerIdentity;
  readonly serialization: Serialization;
  readonly limits: MessageLimits;
}

/** A worker's IPC transport, driven from the test process over the fixture's TCP line. */
class RemoteTransport extends MembershipTransport {
  readonly role = 'worker' as const;

  constructor(
    hello: Hello,
    private readonly socket: Socket,
  ) {
    super(hello.self, hello.serialization, hello.limits);
  }

  requestRollingRestart(): void {
    throw new Error('not part of the conformance suite');
  }
  send(message: MessageEnvelope): void {
    this.write({ t: 'send', m: message });
  }
  announce(topics: readonly string[]): void {
    this.write({ t: 'announce', topics });
  }

  receive(line: { t: string; m?: MessageEnvelope; workers?: WorkerInfo[]; state?: ClusterState; event?: ClusterEvent }): void {
    if (line.t === 'message') this.messages.next(line.m!);
    else if (line.t === 'view') this.view.apply(line.workers!, line.event, line.state);
  }

  private write(line: object): void {
    if (!this.socket.destroyed) this.socket.write(`${JSON.stringify(line)}\n`);
  }
}

/**
 * A real cluster of `size` forked workers (the library's primary), each worker's transport lent to
 * this process. With `redis` or `nats`, the workers are spread over two nodes joined by that server, so the
 * members talk through the Redis link as well as IPC. Resolves once every member lists every
 * member as ready.
 */
export async function startIpcConformanceCluster(
  size: number,
  { redis, nats }: { redis?: RedisServer; nats?: NatsServer } = {},
): Promise<ConformanceCluster> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const key = (w: { node: string; id: number }) => `${w.node}#${w.id}`;
  const members = new Map<string, RemoteTransport>();
  let settle!: () => void;
  let fail!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => ((settle = resolve), (fail = reject)));
  const check = () => {
    if (members.size < size) return;
    const all = [...members.values()];
    const keys = all.map((m) => key(m.self));
    if (all.every((m) => keys.every((k) => m.workers().some((w) => key(w) === k && w.state === 'ready')))) settle();
  };
  server.on('connection', (socket) => {
    let member: RemoteTransport | undefined;
    const lines = createInterface({ input: socket });
    // The workers are SIGKILLed at the end of each case: their lines end with a reset.
    lines.on('error', () => undefined);
    lines.on('line', (text) => {
      const line = JSON.parse(text);
      if (line.t === 'hello') {
        member = new RemoteTransport(line as Hello, socket);
        // A worker forked later (a replacement) is not one of the members the case was given: it
        // answers requests as a worker without handlers does.
        if (members.size < size) members.set(key(member.self), member);
        else answerNoHandler(member);
      } else member?.receive(line);
      check();
    });
    socket.on('error', () => undefined);
  });
  const broker = redis ? { CLUSTER_REDIS_URL: redis.url } : nats ? { CLUSTER_NATS_URL: nats.url } : undefined;
  const counts = broker ? [Math.ceil(size / 2), Math.floor(size / 2)].filter((n) => n > 0) : [size];
  const apps = counts.map((workers, i) =>
    ClusterProcess.start(
      {
        CLUSTER_WORKERS: String(workers),
        HARNESS_PORT: String(port),
        ...(broker ? { ...broker, CLUSTER_NODE_ID: `conformance-${i}` } : {}),
      },
      CONFORMANCE_IPC,
    ),
  );
  for (const app of apps) {
    void app.exited.then((exit) =>
      fail(new Error(`a node exited before the cluster was ready (${JSON.stringify(exit)}): ${app.lines.slice(-5).join(' | ')}`)),
    );
  }
  const timer = setTimeout(
    () => fail(new Error(`the cluster was not ready within 60 s: ${apps.flatMap((a) => a.lines.slice(-3)).join(' | ')}`)),
    60_000,
  );
  const close = async () => {
    clearTimeout(timer);
    for (const app of apps) app.killGroup();
    await Promise.all(apps.map((app) => app.exited));
    server.close();
  };
  try {
    await ready;
  } catch (error) {
    await close();
    throw error;
  }
  clearTimeout(timer);
  const ordered = [...members.values()].sort((a, b) => (a.self.node < b.self.node ? -1 : a.self.node > b.self.node ? 1 : a.self.slot - b.self.slot));
  return {
    members: ordered,
    remove: async (index) => void process.kill(ordered[index]!.self.pid, 'SIGKILL'),
    close,
  };
}

/** A member nobody drives answers every request with `NoHandlerError`, as a worker of an app without that handler. */
function answerNoHandler(member: RemoteTransport): void {
  member.messages$.subscribe((message) => {
    if (message.kind === 'request') member.send(errorReply(message, member.self, new NoHandlerError(message.topic, member.self.slot)));
  });
}
