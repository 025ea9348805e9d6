/**
 * Credentials and TLS to NATS, through the option object and the environment: nats-servers of the
 * test's own that require a token, a user and password, or TLS with client certificates (made here with
 * openssl, a private CA valid for a day). Links connect with what they were given, and a link refused
 * says why and keeps trying; two clustered nodes meet over TLS with a token from their environment.
 */
import { jest } from '@jest/globals';
import type { Logger } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedNatsOptions } from '../src/interfaces/bootstrap-options.interface.js';
import type { LocalNode } from '../src/transports/node-link.interface.js';
import { NatsLink } from '../src/transports/nats/nats-link.js';
import { pollUntil, startMessagingCluster } from './helpers/messaging-cluster.js';
import { NatsServer } from './helpers/nats-server.js';
import type { ClusterProcess } from './helpers/cluster-process.js';

jest.setTimeout(120_000);

const NONE: ResolvedNatsOptions = {
  user: undefined,
  pass: undefined,
  token: undefined,
  credsFile: undefined,
  tls: { caFile: undefined, certFile: undefined, keyFile: undefined },
};

/** A link of its own cluster on `url`, with what its logger said. */
function link(url: string, nats: Partial<ResolvedNatsOptions> = {}) {
  const said: string[] = [];
  const logger = { log: () => undefined, warn: (line: string) => said.push(line), error: (line: string) => said.push(line) } as unknown as Logger;
  const options = {
    url,
    nats: { ...NONE, ...nats },
    name: `credentials-${++clusters}`,
    node: 'node-a',
    serialization: 'json',
    maxMessageBytes: 1_048_576,
  } as const;
  const made = new NatsLink({ ...options, heartbeatMs: 200, retryMs: 100 }, logger);
  made.start(LONE);
  links.push(made);
  return { link: made, said };
}

const LONE: LocalNode = {
  workers: () => [],
  topics: () => [],
  leader: () => null,
  message: () => undefined,
  changed: () => undefined,
  gone: () => undefined,
};
let clusters = 0;
const links: NatsLink[] = [];
const servers: NatsServer[] = [];

afterEach(async () => {
  await Promise.all(links.splice(0).map((l) => l.close()));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.remove()));
});

async function server(config: string, scheme: 'nats' | 'tls' = 'nats'): Promise<NatsServer> {
  const started = await NatsServer.start({ config, scheme, jetstream: false });
  servers.push(started);
  return started;
}

const isUp = (l: NatsLink) => pollUntil(async () => l.up, 'the link to be up', 10_000);

/** Refused links keep trying: still down after `ms`, having said why once. */
async function refused(l: { link: NatsLink; said: string[] }, reason: RegExp, ms = 1_500): Promise<void> {
  await pollUntil(async () => l.said.some((line) => reason.test(line)), `a line matching ${reason}`, 10_000);
  await new Promise((resolve) => setTimeout(resolve, ms));
  expect(l.link.up).toBe(false);
  expect(l.said.filter((line) => reason.test(line))).toHaveLength(1);
}

describe('NATS credentials', () => {
  it('connects with the token of nats.token or of the URL; without it, says the server refused it and keeps trying', async () => {
    const nats = await server('authorization { token: "s3cret" }');
    await isUp(link(nats.url, { token: 's3cret' }).link);
    await isUp(link(`nats://s3cret@127.0.0.1:${nats.port}`).link);
    const without = link(nats.url);
    await refused(without, /NATS refused node node-a's link: Authorization Violation/);
    expect(without.said.join('\n')).not.toContain('s3cret');
  });

  it('connects with a user and password from nats or from the URL (percent-encoded); a wrong password is refused', async () => {
    const nats = await server('authorization { users: [ { user: "app", password: "p@ss:w/rd" } ] }');
    await isUp(link(nats.url, { user: 'app', pass: 'p@ss:w/rd' }).link);
    await isUp(link(`nats://app:${encodeURIComponent('p@ss:w/rd')}@127.0.0.1:${nats.port}`).link);
    const wrong = link(nats.url, { user: 'app', pass: 'nope' });
    await refused(wrong, /Authorization Violation/);
    expect(wrong.said.join('\n')).not.toContain('nope');
  });
});

describe('NATS over TLS', () => {
  let dir: string;
  let files: { ca: string; cert: string; key: string; otherCa: string };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncl-nats-tls-'));
    const path = (name: string) => join(dir, name);
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const key = (name: string) => ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path(`${name}.key`)];
    for (const ca of ['ca', 'other-ca']) openssl('req', '-x509', ...key(ca), '-out', path(`${ca}.pem`), '-days', '1', '-subj', `/CN=${ca}`);
    // The client checks a server reached by IP address against the name localhost (`@nats-io/transport-node` sends no IP as the TLS server name).
    writeFileSync(path('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    writeFileSync(path('client.ext'), 'extendedKeyUsage=clientAuth\n');
    for (const [name, ext] of [
      ['server', 'server.ext'],
      ['client', 'client.ext'],
    ] as const) {
      openssl('req', ...key(name), '-out', path(`${name}.csr`), '-subj', `/CN=${name}`);
      openssl(
        'x509',
        '-req',
        '-in',
        path(`${name}.csr`),
        '-CA',
        path('ca.pem'),
        '-CAkey',
        path('ca.key'),
        '-CAcreateserial',
        '-days',
        '1',
        '-extfile',
        path(ext),
        '-out',
        path(`${name}.pem`),
      );
    }
    files = { ca: path('ca.pem'), cert: path('client.pem'), key: path('client.key'), otherCa: path('other-ca.pem') };
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tlsBlock = (verify: boolean) =>
    `tls { cert_file: ${JSON.stringify(join(dir, 'server.pem'))}, key_file: ${JSON.stringify(join(dir, 'server.key'))}, ca_file: ${JSON.stringify(files.ca)}, verify: ${verify} }`;

  it('connects to a server that verifies clients with the CA, certificate and key given; not with a CA that did not sign its certificate', async () => {
    const nats = await server(tlsBlock(true), 'tls');
    await isUp(link(nats.url, { tls: { caFile: files.ca, certFile: files.cert, keyFile: files.key } }).link);
    await refused(
      link(nats.url, { tls: { caFile: files.otherCa, certFile: files.cert, keyFile: files.key } }),
      /refused node node-a's link: .*certificate/i,
    );
  });

  it('takes tls:// as TLS required: never in clear with a server that has none', async () => {
    const plain = await server('');
    await isUp(link(plain.url).link);
    await refused(link(`tls://127.0.0.1:${plain.port}`), /refused node node-a's link: .*tls/i);
  });

  it('joins two clustered nodes over TLS with a token, all from their environment: link and workers alike', async () => {
    const nats = await server(`${tlsBlock(false)}\nauthorization { token: "s3cret" }`, 'tls');
    const env = { CLUSTER_NATS_URL: nats.url, CLUSTER_NATS_TLS_CA: files.ca, CLUSTER_NATS_TOKEN: 's3cret' };
    const apps: ClusterProcess[] = [];
    try {
      const [a, b] = await Promise.all(
        ['node-a', 'node-b'].map(async (node) => {
          const started = await startMessagingCluster(2, { ...env, CLUSTER_NODE_ID: node });
          apps.push(started.app);
          return started;
        }),
      );
      await pollUntil(
        async () => ((await a!.control(0, '/workers')) as Array<{ node: string; state: string }>).filter((w) => w.state === 'ready').length === 4,
        'node-a to list the workers of both nodes',
        60_000,
      );
      // Straight from a worker of one node to a worker of the other: on their own lanes, also over TLS with the token.
      const answer = await b!.control(1, '/request?topic=whoami&to=0&node=node-a&timeoutMs=5000');
      expect(answer.value).toMatchObject({ slot: 0 });
      expect(apps.flatMap((app) => app.lines).filter((line) => /refused|s3cret/.test(line))).toEqual([]);
    } finally {
      for (const app of apps) app.killGroup();
      await Promise.all(apps.map((app) => app.exited));
    }
  });
});
