import type { EventEmitter } from 'node:events';
import { DUPLICATE_SIGNAL_MS } from '../cluster.constants.js';
import { ShutdownSequence } from './shutdown-sequence.js';

/** Jest's object on native ESM (no injected global there). */
const { jest } = import.meta;

describe('ShutdownSequence', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('starts once; a reason that is not a terminal signal is ignored afterwards', () => {
    const stopping = new ShutdownSequence();
    expect(stopping.closing).toBe(false);
    expect(stopping.begin('crash-loop')).toBe('started');
    expect(stopping.closing).toBe(true);
    jest.advanceTimersByTime(10_000);
    expect(stopping.begin('crash-loop')).toBe('ignored');
    expect(stopping.begin('SIGHUP')).toBe('ignored');
  });

  it('ignores the same Ctrl-C forwarded within DUPLICATE_SIGNAL_MS, and forces on a later one', () => {
    const stopping = new ShutdownSequence();
    stopping.begin('SIGINT');
    jest.advanceTimersByTime(DUPLICATE_SIGNAL_MS - 1);
    expect(stopping.begin('SIGINT')).toBe('ignored');
    jest.advanceTimersByTime(1);
    expect(stopping.begin('SIGTERM')).toBe('force');
    expect(stopping.begin('SIGINT')).toBe('force');
  });

  it('arms the deadline when the stop begins and calls onTimeout once it passed', () => {
    const onTimeout = jest.fn();
    const stopping = new ShutdownSequence({ timeoutMs: 1_000, onTimeout });
    jest.advanceTimersByTime(5_000);
    expect(onTimeout).not.toHaveBeenCalled(); // nothing armed before begin
    stopping.begin('SIGTERM');
    stopping.begin('SIGTERM');
    jest.advanceTimersByTime(999);
    expect(onTimeout).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(onTimeout).toHaveBeenCalledTimes(1);
  });

  it('arms the deadline before the caller runs anything else', () => {
    const onTimeout = jest.fn();
    const stopping = new ShutdownSequence({ timeoutMs: 0, onTimeout });
    stopping.begin('SIGTERM');
    expect(jest.getTimerCount()).toBe(1);
  });

  it('without timeoutMs arms nothing', () => {
    new ShutdownSequence().begin('asked by the primary');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('keepAlive false leaves the deadline unreferenced', () => {
    jest.useRealTimers();
    const keeps = new ShutdownSequence({ timeoutMs: 60_000 });
    const lets = new ShutdownSequence({ timeoutMs: 60_000, keepAlive: false });
    keeps.begin('SIGTERM');
    lets.begin('SIGTERM');
    const timers = (seq: ShutdownSequence) => (seq as unknown as { timer: NodeJS.Timeout }).timer;
    expect([timers(keeps).hasRef(), timers(lets).hasRef()]).toEqual([true, false]);
    keeps.uninstall();
    lets.uninstall();
  });

  it('uninstall clears the deadline and removes every listener it added', () => {
    const onTimeout = jest.fn();
    const stopping = new ShutdownSequence({ timeoutMs: 1_000, onTimeout });
    const emitter: EventEmitter = process;
    const before = ['SIGUSR2', 'exit'].map((e) => emitter.listenerCount(e));
    const heard: string[] = [];
    stopping.listen('SIGUSR2', () => heard.push('SIGUSR2'));
    stopping.listen('exit', () => heard.push('exit'));
    emitter.emit('SIGUSR2');
    expect(heard).toEqual(['SIGUSR2']);
    stopping.begin('SIGTERM');
    stopping.uninstall();
    jest.advanceTimersByTime(5_000);
    expect(onTimeout).not.toHaveBeenCalled();
    expect(['SIGUSR2', 'exit'].map((e) => emitter.listenerCount(e))).toEqual(before);
    emitter.emit('SIGUSR2');
    expect(heard).toEqual(['SIGUSR2']);
  });
});
