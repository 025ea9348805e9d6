import { natsEndpoint } from './nats-connection.js';

const NONE = {
  user: undefined,
  pass: undefined,
  token: undefined,
  credsFile: undefined,
  tls: { caFile: undefined, certFile: undefined, keyFile: undefined },
};

describe('natsEndpoint', () => {
  it('gives the client the host and port alone, with nothing more for a plain URL', () => {
    expect(natsEndpoint('nats://127.0.0.1:4222')).toEqual({ server: '127.0.0.1:4222', connection: {} });
    expect(natsEndpoint('nats://nats.internal', NONE)).toEqual({ server: 'nats.internal', connection: {} });
  });

  it('turns the credentials of the URL into a user and password, or a token without a password', () => {
    expect(natsEndpoint('nats://app:p%40ss@h:4222').connection).toEqual({ user: 'app', pass: 'p@ss' });
    expect(natsEndpoint('nats://s3cret@h:4222')).toEqual({ server: 'h:4222', connection: { token: 's3cret' } });
  });

  it('takes the settings of nats', () => {
    expect(natsEndpoint('nats://h:4222', { ...NONE, user: 'u', pass: 'p' }).connection).toEqual({ user: 'u', pass: 'p' });
    expect(natsEndpoint('nats://h:4222', { ...NONE, token: 't' }).connection).toEqual({ token: 't' });
    expect(typeof natsEndpoint('nats://h:4222', { ...NONE, credsFile: '/x.creds' }).connection.authenticator).toBe('function');
  });

  it('requires TLS for a tls:// URL or any TLS file, with the files given', () => {
    expect(natsEndpoint('tls://h:4222').connection).toEqual({ tls: {} });
    expect(natsEndpoint('nats://h:4222', { ...NONE, tls: { caFile: '/ca.pem', certFile: undefined, keyFile: undefined } }).connection).toEqual({
      tls: { caFile: '/ca.pem' },
    });
  });
});
