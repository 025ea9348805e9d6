import { jest } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { WORKER_LOGS_ENV, WORKER_READY_MARK } from '../cluster.constants.js';
import type { WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import { READ_BATCH_MS, WorkerLogs, type LogSinks } from './worker-logs.js';

/** What the primary would write to its stdout and stderr, write by write. */
function sinks(): LogSinks & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) } };
}

const worker = (slot: number, pid = 100 + slot): WorkerIdentity => ({ node: 'n', id: slot + 1, slot, pid });

/** A worker's two pipes, attached to `logs`. */
function attach(logs: WorkerLogs, identity: WorkerIdentity) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  logs.attach(identity, stdout, stderr);
  return {
    stdout,
    stderr,
    end: () => {
      stdout.end();
      stderr.end();
    },
  };
}

/** What the relay read by now is written by the end of the next turn of the event loop. */
const flushed = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

describe('WorkerLogs', () => {
  it('writes whole tagged lines, the lines of every worker read in one turn in one write, never a torn line', async () => {
    const out = sinks();
    const logs = new WorkerLogs({ bootLogs: 'all' }, out);
    const a = attach(logs, worker(0));
    const b = attach(logs, worker(1));
    a.stdout.write('hel');
    b.stdout.write('wor');
    a.stdout.write('lo\nsecond ');
    b.stdout.write('ld\n');
    await flushed();
    expect(out.out).toEqual(['[w0] hello\n[w1] world\n']);
    a.stdout.write('line\n{"msg":"json"}\n');
    b.stderr.write('oops\n');
    await flushed();
    expect(out.out.at(-1)).toBe('[w0] second line\n{"slot":0,"msg":"json"}\n');
    expect(out.err).toEqual(['[w1] oops\n']);
  });

  it("writes a worker's last line without a newline when its streams end, and says when all have", async () => {
    const out = sinks();
    const logs = new WorkerLogs({ bootLogs: 'all' }, out);
    const a = attach(logs, worker(2));
    a.stdout.write('first\nunfinished');
    a.stderr.write('Error: boom\n    at crash (app.js:1:1)');
    let settled = false;
    void logs.settled(60_000).then(() => (settled = true));
    await flushed();
    expect(settled).toBe(false);
    a.end();
    await logs.settled(60_000);
    expect(out.out.join('')).toBe('[w2] first\n[w2] unfinished\n');
    expect(out.err.join('')).toBe('[w2] Error: boom\n[w2]     at crash (app.js:1:1)\n');
  });

  it('settles after the timeout when a stream never ends', async () => {
    const logs = new WorkerLogs({ bootLogs: 'all' }, sinks());
    attach(logs, worker(0));
    await expect(logs.settled(20)).resolves.toBeUndefined();
  });

  it("shows the first worker's boot lines, holds the others' and drops them once ready; the ready mark never shows", async () => {
    const out = sinks();
    const logs = new WorkerLogs({ bootLogs: 'first' }, out);
    const first = attach(logs, worker(0));
    const second = attach(logs, worker(1));
    for (const w of [first, second]) w.stdout.write(`InstanceLoader boot\n${WORKER_READY_MARK}\nserving\n`);
    await flushed();
    expect(out.out.join('')).toBe('[w0] InstanceLoader boot\n[w0] serving\n[w1] serving\n');
    // A replacement (a restart, a rolling restart) is not the first either.
    const replacement = attach(logs, worker(0, 200));
    replacement.stdout.write(`InstanceLoader boot\n${WORKER_READY_MARK}\n`);
    await flushed();
    expect(out.out.join('')).not.toContain('[w0] InstanceLoader boot\n[w0] serving\n[w1] serving\n[w0] InstanceLoader');
    // Every line is kept for the slot, boot lines included, the mark not.
    expect(logs.lines(0).map((l) => `${l.pid} ${l.line}`)).toEqual(['100 InstanceLoader boot', '100 serving', '200 InstanceLoader boot']);
  });

  it('finds the ready mark after an unfinished line, and the mark split across chunks', async () => {
    const out = sinks();
    const logs = new WorkerLogs({ bootLogs: 'first' }, out);
    attach(logs, worker(0));
    const w = attach(logs, worker(1));
    const mark = `no newline${WORKER_READY_MARK}\nafter\n`;
    w.stdout.write(mark.slice(0, 13));
    w.stdout.write(mark.slice(13));
    await flushed();
    expect(out.out.join('')).toBe('[w1] after\n');
  });

  it('shows warnings and errors of a held boot at once, and the whole boot of a worker that never got ready', async () => {
    const out = sinks();
    const logs = new WorkerLogs({ bootLogs: 'first' }, out);
    attach(logs, worker(0));
    const w = attach(logs, worker(1));
    w.stdout.write('InstanceLoader one\n[Nest] 1 - WARN [Config] missing key\nInstanceLoader two\n');
    w.stderr.write('Error: cannot connect\n');
    await flushed();
    expect(out.out).toEqual(['[w1] [Nest] 1 - WARN [Config] missing key\n']);
    expect(out.err).toEqual(['[w1] Error: cannot connect\n']);
    w.end();
    await logs.settled(1_000);
    expect(out.out).toHaveLength(1); // the verdict on its exit may come after its streams ended
    logs.exited(worker(1), true);
    await flushed();
    expect(out.out.slice(1).join('')).toBe('[w1] InstanceLoader one\n[w1] InstanceLoader two\n');
  });

  it('drops the held boot of a worker asked to stop while it booted, whichever of its exit and its end comes first', async () => {
    const out = sinks();
    const logs = new WorkerLogs({ bootLogs: 'first' }, out);
    attach(logs, worker(0));
    const early = attach(logs, worker(1));
    const late = attach(logs, worker(2));
    early.stdout.write('InstanceLoader early\n');
    late.stdout.write('InstanceLoader late\n');
    await flushed();
    logs.exited(worker(1), false);
    early.end();
    late.end();
    await logs.settled(1_000);
    logs.exited(worker(2), false);
    expect(out.out).toEqual([]);
  });

  it('holds a bounded number of boot lines and says how many it could not keep', async () => {
    const out = sinks();
    const logs = new WorkerLogs({ bootLogs: 'first', holdLines: 3 }, out);
    attach(logs, worker(0));
    const w = attach(logs, worker(1));
    w.stdout.write('1\n2\n3\n4\n5\n');
    logs.exited(worker(1), true);
    w.end();
    await logs.settled(1_000);
    expect(out.out.join('')).toBe('[w1] (2 earlier boot line(s) not kept)\n[w1] 3\n[w1] 4\n[w1] 5\n');
  });

  it('keeps the last lines of each slot in a ring, oldest first, across slots in the order read', async () => {
    const logs = new WorkerLogs({ bootLogs: 'all', keepLines: 3 }, sinks());
    const a = attach(logs, worker(0));
    const b = attach(logs, worker(1));
    a.stdout.write('a1\na2\n');
    await flushed();
    b.stderr.write('b1\n');
    await flushed();
    a.stdout.write('a3\na4\na5\n');
    await flushed();
    expect(logs.lines(0).map((l) => l.line)).toEqual(['a3', 'a4', 'a5']);
    expect(logs.lines(1)).toEqual([expect.objectContaining({ slot: 1, pid: 101, stream: 'stderr', line: 'b1' })]);
    expect(logs.lines(undefined, 2).map((l) => l.line)).toEqual(['a4', 'a5']);
    expect(logs.lines(7)).toEqual([]);
  });

  describe('reading the pipes in batches', () => {
    beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] }));
    afterEach(() => jest.useRealTimers());

    /** A pipe as the primary reads it: a stream over a handle whose reads can stop and start. */
    function pipe() {
      const stream = new PassThrough();
      const handle = { reading: true, readStop: jest.fn(() => 0), readStart: jest.fn(() => 0) };
      Object.assign(stream, { _handle: handle });
      return { stream, handle };
    }

    it('leaves every pipe unread after a small read, and reads them all again together, once', async () => {
      const out = sinks();
      const logs = new WorkerLogs({ bootLogs: 'all' }, out);
      const [a, b] = [pipe(), pipe()];
      logs.attach(worker(0), a.stream, null);
      logs.attach(worker(1), b.stream, null);
      a.stream.write('a1\n');
      await flushed();
      jest.advanceTimersByTime(READ_BATCH_MS / 2);
      b.stream.write('b1\n');
      await flushed();
      expect([a.handle.readStop.mock.calls.length, b.handle.readStop.mock.calls.length]).toEqual([1, 1]);
      jest.advanceTimersByTime(READ_BATCH_MS / 2 - 1);
      expect(a.handle.readStart).not.toHaveBeenCalled();
      // One timer for both: the pipe stopped later is read again with the other.
      jest.advanceTimersByTime(1);
      expect([a.handle.readStart.mock.calls.length, b.handle.readStart.mock.calls.length]).toEqual([1, 1]);
      expect(out.out.join('')).toBe('[w0] a1\n[w1] b1\n');
    });

    it('reads on at once after a big read: the pipe fills fast', async () => {
      const logs = new WorkerLogs({ bootLogs: 'all' }, sinks());
      const a = pipe();
      logs.attach(worker(0), a.stream, null);
      a.stream.write(`${'x'.repeat(20_000)}\n`);
      await flushed();
      expect(a.handle.readStop).not.toHaveBeenCalled();
    });
  });

  it('asks the worker to mark its readiness, and passes colours on when the primary writes to a terminal', () => {
    expect(WorkerLogs.forkEnv({}, { isTTY: false })).toEqual({ [WORKER_LOGS_ENV]: 'tagged' });
    expect(WorkerLogs.forkEnv({}, { isTTY: true, getColorDepth: () => 24 })).toEqual({ [WORKER_LOGS_ENV]: 'tagged', FORCE_COLOR: '3' });
    expect(WorkerLogs.forkEnv({}, { isTTY: true, getColorDepth: () => 8 }).FORCE_COLOR).toBe('2');
    expect(WorkerLogs.forkEnv({ NO_COLOR: '1' }, { isTTY: true }).FORCE_COLOR).toBeUndefined();
    expect(WorkerLogs.forkEnv({ FORCE_COLOR: '0' }, { isTTY: true }).FORCE_COLOR).toBeUndefined();
  });
});
