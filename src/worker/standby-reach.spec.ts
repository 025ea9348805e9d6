import { resolveClusterOptions } from '../cluster-options.js';
import type { ClusterBootstrapOptions, ClusteredApp } from '../interfaces/bootstrap-options.interface.js';
import { standbyReach, type StartedApp } from './app-lifecycle.js';
import { InFlightWork } from './drain/in-flight-work.js';

/** Stand-ins with the shape of each kind of Nest app; `tcp`: Nest's TCP transport, `nats`: a broker's. */
const tcp = { close: () => undefined, openSockets: new Set(), bindHandler: () => undefined };
const nats = { close: () => undefined, subscriptions: [] };
const http = { closeIdleConnections: () => undefined };
const httpApp = (...microservices: Array<typeof tcp | typeof nats>) => ({
  getHttpServer: () => http,
  getMicroservices: () => microservices.map((transport) => ({ getTransportServer: () => transport })),
});
const microservice = (transport: typeof tcp | typeof nats) => ({ getTransportServer: () => transport });
const context = { init: async () => undefined };

const started = (app: object): StartedApp => ({ app: app as unknown as ClusteredApp, work: new InFlightWork() });
const reach = (app: object, options: ClusterBootstrapOptions = {}) =>
  standbyReach(
    started(app),
    resolveClusterOptions(options, {}, () => 2),
  );

describe('how far a warm standby goes before it has a slot', () => {
  it('listens where the primary deals every connection the default listen starts', () => {
    expect(reach(httpApp())).toBe('listen');
    expect(reach(microservice(tcp))).toBe('listen');
    expect(reach(httpApp(tcp))).toBe('listen');
    expect(reach(httpApp(), { sticky: 'ip' })).toBe('listen');
    expect(reach(httpApp(), { sticky: 'sid', distribution: 'node' })).toBe('listen');
  });

  it('only initializes where listening would take work: node:cluster dealing, a broker transport, a listen hook', () => {
    expect(reach(httpApp(), { distribution: 'node' })).toBe('init');
    expect(reach(microservice(tcp), { distribution: 'node' })).toBe('init');
    expect(reach(httpApp(tcp), { sticky: 'ip', distribution: 'node' })).toBe('init');
    expect(reach(microservice(nats))).toBe('init');
    expect(reach(httpApp(nats))).toBe('init');
    expect(reach(httpApp(), { listen: async () => undefined })).toBe('init');
  });

  it('only creates an application context, whose init is its start', () => {
    expect(reach(context)).toBe('create');
  });
});
