/**
 * The transport kit works from outside the package: a transport built in `test/fixtures` from the
 * published `nestjs-cluster/transport` subpath alone passes the conformance suite, run the way a
 * transport author runs it.
 */
import { transportConformance } from 'nestjs-cluster/transport';
import { MemoryHub, type MemoryTransport } from './fixtures/memory-transport.js';

transportConformance('an in-memory transport built on the kit', {
  maxMembers: 3,
  async create(size) {
    const hub = new MemoryHub();
    const members: MemoryTransport[] = Array.from({ length: size }, () => hub.join());
    return {
      members,
      remove: async (index) => hub.leave(members[index]!),
      close: async () => undefined,
    };
  },
});
