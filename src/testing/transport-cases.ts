import { Logger } from '@nestjs/common';
import { combineLatest, filter, firstValueFrom, take, timeout } from 'rxjs';
import { NoHandlerError, RequestTimeoutError, WorkerUnavailableError } from '../cluster.errors.js';
import type { WorkerAddress } from '../interfaces/cluster-event.interface.js';
import { sameLeader } from '../leadership/leader.interface.js';
import { MessageBus } from '../messaging/message-bus.js';
import { addressOf } from '../messaging/remote-error.js';
import { CASE_TIMEOUT_MS, ConformanceError, expect, range, sameList } from './conformance-runner.js';
import type { ConformanceCase } from './transport-conformance.js';
import { collect, FAST_FAILURE_MS, key, PATIENT_TIMEOUT_MS, rawRequest, retryNoHandler, roundTrips, withBuses } from './transport-probes.js';

/** Every behaviour, in the order they are reported. */
export const CONFORMANCE_CASES: readonly ConformanceCase[] = [
  {
    name: 'every member lists every member as ready, each with its node and slot',
    members: 3,
    minMembers: 1,
    async run({ members }) {
      const expected = members.map((m) => key(m.self)).sort();
      for (const member of members) {
        const listed = member
          .workers()
          .filter((w) => w.state === 'ready')
          .map(key)
          .sort();
        expect(
          expected.every((k) => listed.includes(k)),
          `member ${key(member.self)} lists ${listed.join(', ')}; expected ${expected.join(', ')}`,
        );
        expect(
          member.nodes().some((n) => n.self && n.node === member.self.node),
          `member ${key(member.self)} does not list its own node`,
        );
      }
    },
  },
  {
    name: 'every member names the same leader, a ready member, or none; leader$ replays it',
    members: 3,
    minMembers: 1,
    async run({ members }) {
      // Snapshots reach the members one after the other: wait until they agree.
      const agreed = await firstValueFrom(
        combineLatest(members.map((m) => m.leader$)).pipe(
          filter((leaders) => leaders.every((l) => sameLeader(l, leaders[0]))),
          take(1),
          timeout({
            first: CASE_TIMEOUT_MS / 2,
            with: () => Promise.reject(new ConformanceError(`the members name different leaders: ${JSON.stringify(members.map((m) => m.leader()))}`)),
          }),
        ),
      );
      const leader = agreed[0] ?? null;
      for (const member of members) {
        expect(sameLeader(member.leader(), leader), `member ${key(member.self)}: leader() differs from what leader$ replays`);
        expect(sameLeader(member.state().leader, leader), `member ${key(member.self)}: state().leader differs from leader()`);
      }
      if (leader === null) return;
      const listed = members[0]!.workers().find((w) => w.node === leader.node && w.slot === leader.slot && w.pid === leader.pid);
      expect(listed?.state === 'ready', `the leader ${JSON.stringify(leader)} is not a ready member`);
    },
  },
  {
    name: 'publish reaches every other member once, and not the sender',
    members: 3,
    minMembers: 2,
    async run({ members }) {
      await withBuses(members, async (buses) => {
        const received = buses.map((bus) => collect(bus, 'conformance.publish'));
        const count = 20;
        for (let i = 0; i < count; i++) buses[0]!.publish('conformance.publish', i);
        buses[0]!.publish('conformance.publish', 'end');
        // Each receiver's copy of `end` comes after the others of this sender: order per sender.
        await Promise.all(received.slice(1).map((r) => r.until((data) => data === 'end')));
        for (const [i, r] of received.entries()) {
          if (i === 0) continue;
          const numbers = r.values.filter((v) => v !== 'end');
          expect(sameList(numbers, range(count)), `member ${i} received ${JSON.stringify(r.values)}`);
        }
        // A reply from every receiver, sent after each got `end`, reaches the sender after any
        // copy of its own publish the transport would wrongly have looped back.
        await Promise.all(
          members
            .slice(1)
            .map((m) => buses[0]!.request('conformance.echo', null, { to: addressOf(m.self), timeoutMs: PATIENT_TIMEOUT_MS }).catch(() => undefined)),
        );
        expect(received[0]!.values.length === 0, `the sender received its own publish: ${JSON.stringify(received[0]!.values)}`);
      });
    },
  },
  {
    name: 'messages from one sender to one receiver arrive in the order they were sent',
    members: 2,
    minMembers: 2,
    async run({ members }) {
      await withBuses(members, async (buses) => {
        const received = collect(buses[1]!, 'conformance.sequence');
        const count = 1_000;
        for (let i = 0; i < count; i++) {
          if (i % 2 === 0) buses[0]!.send(addressOf(members[1]!.self), 'conformance.sequence', i);
          else buses[0]!.publish('conformance.sequence', i);
        }
        await received.until(() => received.values.length === count);
        expect(sameList(received.values, range(count)), `out of order: ${JSON.stringify(received.values.slice(0, 50))}...`);
      });
    },
  },
  {
    name: 'send reaches the addressed member only',
    members: 3,
    minMembers: 3,
    async run({ members }) {
      await withBuses(members, async (buses) => {
        const received = buses.map((bus) => collect(bus, 'conformance.direct'));
        buses[0]!.send(addressOf(members[2]!.self), 'conformance.direct', 'for 2');
        buses[0]!.send(addressOf(members[1]!.self), 'conformance.direct', 'for 1');
        await received[1]!.until((data) => data === 'for 1');
        await received[2]!.until((data) => data === 'for 2');
        // Another round trip to each, so a misrouted copy would have arrived by now.
        await roundTrips(buses[0]!, members.slice(1));
        expect(sameList(received[1]!.values, ['for 1']), `member 1 received ${JSON.stringify(received[1]!.values)}`);
        expect(sameList(received[2]!.values, ['for 2']), `member 2 received ${JSON.stringify(received[2]!.values)}`);
        expect(received[0]!.values.length === 0, `the sender received ${JSON.stringify(received[0]!.values)}`);
      });
    },
  },
  {
    name: 'a request to an address is answered by that member, the asker included',
    members: 2,
    minMembers: 1,
    async run({ members }) {
      await withBuses(members, async (buses) => {
        for (const target of members) {
          const reply = await buses[0]!.request<WorkerAddress>('conformance.whoami', 'hello', {
            to: addressOf(target.self),
            timeoutMs: PATIENT_TIMEOUT_MS,
          });
          expect(key(reply) === key(target.self), `asked ${key(target.self)}, answered by ${key(reply)}`);
        }
      });
    },
  },
  {
    name: 'a request without an address reaches a member that handles the topic',
    members: 2,
    minMembers: 2,
    async run({ members }) {
      await withBuses(members, async (buses) => {
        buses[1]!.handle('conformance.only-one', () => key(members[1]!.self));
        const answers = new Set<string>();
        for (let i = 0; i < 4; i++)
          answers.add(await retryNoHandler(() => buses[0]!.request<string>('conformance.only-one', null, { timeoutMs: PATIENT_TIMEOUT_MS })));
        expect(sameList([...answers], [key(members[1]!.self)]), `answered by ${[...answers].join(', ')}`);
      });
    },
  },
  {
    name: 'a request to an unknown node or slot is answered at once with WorkerUnavailableError',
    members: 1,
    minMembers: 1,
    async run({ members }) {
      const transport = members[0]!;
      const nowhere: WorkerAddress[] = [
        { node: 'conformance-no-such-node', slot: 0 },
        { node: transport.self.node, slot: 9_999 },
      ];
      for (const to of nowhere) {
        const started = Date.now();
        const reply = await rawRequest(transport, 'conformance.nowhere', to);
        const ms = Date.now() - started;
        expect(reply.error?.code === WorkerUnavailableError.code, `to ${key(to)}: ${JSON.stringify(reply.error ?? reply.data)}`);
        expect(ms < FAST_FAILURE_MS, `to ${key(to)}: answered after ${ms} ms, not at once`);
      }
    },
  },
  {
    name: 'a request for a topic nobody handles is answered at once with NoHandlerError',
    members: 1,
    minMembers: 1,
    async run({ members }) {
      const started = Date.now();
      const reply = await rawRequest(members[0]!, 'conformance.nobody-handles-this', undefined);
      const ms = Date.now() - started;
      expect(reply.error?.code === NoHandlerError.code, `got ${JSON.stringify(reply.error ?? reply.data)}`);
      expect(ms < FAST_FAILURE_MS, `answered after ${ms} ms, not at once`);
    },
  },
  {
    name: 'requestAll gathers every answer and names the member that stays silent',
    members: 3,
    minMembers: 1,
    async run({ members }) {
      const silent = members.length - 1;
      await withBuses(members, async (buses) => {
        buses.forEach((bus, i) => bus.handle('conformance.maybe-silent', () => (i === silent ? new Promise<never>(() => undefined) : i)));
        const result = await retryNoHandler(async () => {
          const r = await buses[0]!.requestAll<number>('conformance.maybe-silent', null, { timeoutMs: 1_000 });
          if (r.errors.some((e) => e.error instanceof NoHandlerError)) throw r.errors.find((e) => e.error instanceof NoHandlerError)!.error;
          return r;
        });
        const answered = result.replies.map((r) => `${key(r)}=${String(r.data)}`).sort();
        const expected = members
          .slice(0, silent)
          .map((m, i) => `${key(m.self)}=${i}`)
          .sort();
        expect(sameList(answered, expected), `replies ${answered.join(', ')}; expected ${expected.join(', ')}`);
        expect(sameList(result.missing.map(key), [key(members[silent]!.self)]), `missing ${result.missing.map(key).join(', ')}`);
        expect(result.errors.length === 0, `errors ${result.errors.map((e) => `${key(e)}: ${e.error.message}`).join('; ')}`);
      });
    },
  },
  {
    name: 'a reply after the requester gave up is dropped; later requests get their own answers',
    members: 2,
    minMembers: 1,
    async run({ members }) {
      const target = members.length - 1;
      let answered!: () => void;
      const lateReplySent = new Promise<void>((resolve) => (answered = resolve));
      await withBuses(members, async (buses) => {
        buses[target]!.handle<number, string>('conformance.late', async (ms) => {
          await new Promise((resolve) => setTimeout(resolve, ms));
          if (ms > 0) setImmediate(answered);
          return `after ${ms} ms`;
        });
        const to = addressOf(members[target]!.self);
        const late = await buses[0]!.request('conformance.late', 300, { to, timeoutMs: 50 }).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
        expect('error' in late && late.error instanceof RequestTimeoutError, `expected a RequestTimeoutError, got ${JSON.stringify(late)}`);
        await lateReplySent;
        const next = await buses[0]!.request('conformance.late', 0, { to, timeoutMs: PATIENT_TIMEOUT_MS });
        expect(next === 'after 0 ms', `the next request got ${JSON.stringify(next)}`);
        expect(buses[0]!.pendingCount === 0, `${buses[0]!.pendingCount} request(s) still pending`);
      });
    },
  },
  {
    name: "a member that leaves disappears from the others' workers$, and requests to it fail instead of hanging",
    members: 2,
    minMembers: 2,
    changesMembership: true,
    async run(cluster) {
      if (!cluster.remove) return; // the factory cannot take a member out
      const { members } = cluster;
      const leaving = members[members.length - 1]!.self;
      const stays = members[0]!;
      const bus = new MessageBus(stays, new Logger('Conformance'), PATIENT_TIMEOUT_MS);
      try {
        await cluster.remove(members.length - 1);
        await firstValueFrom(
          stays.workers$.pipe(
            filter((workers) => !workers.some((w) => w.node === leaving.node && w.id === leaving.id && w.pid === leaving.pid)),
            take(1),
            timeout({
              first: CASE_TIMEOUT_MS / 2,
              with: () => Promise.reject(new ConformanceError(`${key(leaving)} (pid ${leaving.pid}) is still listed`)),
            }),
          ),
        );
        // Its slot may be refilled by a new process; what must not happen is a request that hangs.
        const started = Date.now();
        await bus.request('conformance.whoami', null, { to: addressOf(leaving), timeoutMs: 5_000 }).catch(() => undefined);
        expect(Date.now() - started < 5_000, 'a request to the member that left hung until its timeout');
      } finally {
        bus.close();
      }
    },
  },
];
