import { credsAuthenticator, type TlsOptions } from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';
import type { ResolvedNatsOptions } from '../../interfaces/bootstrap-options.interface.js';
import type { NatsConnectionOptions } from './nats-wire.js';

/** Where a process connects to NATS and how, from `natsUrl` and `nats`. */
export interface NatsEndpoint {
  /** `host:port`, without the scheme and credentials the client would not read. */
  readonly server: string;
  readonly connection: NatsConnectionOptions;
}

/**
 * The client reads neither credentials nor the scheme from a server URL: `nats://user:pass@host` would
 * connect without them, and `tls://` would go on in clear with a server that does not require TLS. So
 * the credentials of the URL become the client's `user` and `pass` (or `token` when there is no
 * password), and `tls://` or any TLS file asks for TLS, which the client then requires.
 */
export function natsEndpoint(url: string, settings?: ResolvedNatsOptions): NatsEndpoint {
  const parsed = new URL(url);
  const connection: { -readonly [K in keyof NatsConnectionOptions]: NatsConnectionOptions[K] } = {};
  if (parsed.username !== '') {
    const name = decodeURIComponent(parsed.username);
    if (parsed.password !== '') [connection.user, connection.pass] = [name, decodeURIComponent(parsed.password)];
    else connection.token = name;
  }
  if (settings?.user !== undefined) [connection.user, connection.pass] = [settings.user, settings.pass];
  if (settings?.token !== undefined) connection.token = settings.token;
  const { credsFile } = settings ?? {};
  // Read at each connection: a file rotated meanwhile is used at the next one.
  if (credsFile !== undefined) connection.authenticator = credsAuthenticator(() => readFileSync(credsFile));
  const files = settings?.tls ?? {};
  const tls: TlsOptions = Object.fromEntries(Object.entries(files).filter(([, path]) => path !== undefined));
  if (parsed.protocol === 'tls:' || Object.keys(tls).length > 0) connection.tls = tls;
  return { server: parsed.host, connection };
}
