import { transportConformance } from './conformance/transport-conformance.js';
import { LocalTransport } from './local.transport.js';

// A standalone process is a cluster of one: the cases that need more members are reported skipped.
transportConformance('LocalTransport', {
  maxMembers: 1,
  create: async () => ({ members: [new LocalTransport()], close: async () => undefined }),
});
