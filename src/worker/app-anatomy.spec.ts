import type { ClusteredApp } from '../interfaces/bootstrap-options.interface.js';
import { anatomyOf, listenByKind } from './app-anatomy.js';

/** Stand-ins with just the shape each kind of Nest app has. */
function apps() {
  const calls: string[] = [];
  const transport = { close: () => undefined };
  const http = { closeIdleConnections: () => undefined };
  const microservice = {
    getTransportServer: () => transport,
    listen: async () => void calls.push('microservice.listen()'),
  };
  const httpApp = (microservices: unknown[]) => ({
    getHttpServer: () => http,
    getMicroservices: () => microservices,
    startAllMicroservices: async () => void calls.push('startAllMicroservices()'),
    listen: async (...args: unknown[]) => void calls.push(`listen(${args.join(', ')})`),
  });
  const context = { init: async () => void calls.push('init()') };
  const as = (app: object) => app as unknown as ClusteredApp;
  return {
    calls,
    transport,
    http,
    microservice: as(microservice),
    http1: as(httpApp([])),
    hybrid: as(httpApp([microservice])),
    context: as(context),
  };
}

describe('app anatomy', () => {
  it('tells the kinds apart by shape', () => {
    const { microservice, http1, hybrid, context, transport, http } = apps();
    expect(anatomyOf(http1)).toEqual({ kind: 'http', http, transports: [] });
    expect(anatomyOf(hybrid)).toEqual({ kind: 'hybrid', http, transports: [transport] });
    expect(anatomyOf(microservice)).toEqual({ kind: 'microservice', transports: [transport] });
    expect(anatomyOf(context)).toEqual({ kind: 'context', transports: [] });
  });

  it('listens the way each kind gets ready', async () => {
    const { calls, microservice, http1, hybrid, context } = apps();
    await listenByKind(http1, { port: 3000 });
    await listenByKind(hybrid, { port: 3001 });
    await listenByKind(microservice, { port: 3002 });
    await listenByKind(context, { port: 3003 });
    await listenByKind(http1, { port: 3004, host: '0.0.0.0' });
    expect(calls).toEqual(['listen(3000)', 'startAllMicroservices()', 'listen(3001)', 'microservice.listen()', 'init()', 'listen(3004, 0.0.0.0)']);
  });

  it('in sticky mode only initializes an HTTP app, and makes a Fastify instance ready (its routes are in place only then)', async () => {
    const calls: string[] = [];
    const httpApp = (instance: object) =>
      ({
        getHttpServer: () => ({}),
        getHttpAdapter: () => ({ getInstance: () => instance }),
        init: async () => void calls.push('init()'),
        listen: async (port: number) => void calls.push(`listen(${port})`),
      }) as unknown as ClusteredApp;
    await listenByKind(httpApp({ get: () => undefined }), { port: 3000, sticky: true }); // express: no ready()
    await listenByKind(httpApp({ ready: async () => void calls.push('ready()') }), { port: 3001, host: '0.0.0.0', sticky: true });
    expect(calls).toEqual(['init()', 'init()', 'ready()']);
  });
});
