/**
 * docs/nodes.md, NATS credentials and TLS through the options. Compiled, not started: it names a
 * server and files that only a real deployment has.
 */
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from '../config/app.module.js';

await bootstrapClustered(AppModule, {
  natsUrl: 'tls://nats.internal:4222',
  nats: { credsFile: '/var/run/secrets/nats/app.creds', tls: { caFile: '/etc/nats/ca.pem' } },
});
