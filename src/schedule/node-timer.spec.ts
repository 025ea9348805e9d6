import { jest } from '@jest/globals';
import { readNodeTimer } from './node-timer.js';

describe('readNodeTimer', () => {
  const handles: NodeJS.Timeout[] = [];
  afterEach(() => handles.splice(0).forEach((h) => clearTimeout(h)));
  const keep = (handle: NodeJS.Timeout) => (handles.push(handle), handle);

  it('reads the callback, its arguments and the delay of a timeout', () => {
    const callback = (a: unknown, b: unknown) => [a, b];
    const timer = readNodeTimer(keep(setTimeout(callback, 250, 'a', 2)));
    expect(timer).toEqual({ callback, args: ['a', 2], delayMs: 250, repeats: false, refed: true, done: false });
  });

  it('reads the period of an interval, and whether it was unref()ed', () => {
    const callback = () => undefined;
    expect(readNodeTimer(keep(setInterval(callback, 40).unref()))).toEqual({
      callback,
      args: [],
      delayMs: 40,
      repeats: true,
      refed: false,
      done: false,
    });
  });

  it('takes the delay as Node clamps it', () => {
    expect(readNodeTimer(keep(setTimeout(() => undefined, 0)))?.delayMs).toBe(1);
  });

  it('sees a cleared timer as done', () => {
    const handle = setInterval(() => undefined, 40);
    clearInterval(handle);
    expect(readNodeTimer(handle)?.done).toBe(true);
  });

  it('sees a timeout that ran as done', async () => {
    let handle!: NodeJS.Timeout;
    await new Promise<void>((resolve) => (handle = setTimeout(resolve, 1)));
    expect(readNodeTimer(handle)).toMatchObject({ done: true, repeats: false });
  });

  it('reads nothing from what is not a Node.js Timeout', () => {
    expect(readNodeTimer(undefined)).toBeUndefined();
    expect(readNodeTimer(42)).toBeUndefined();
    expect(readNodeTimer({ _onTimeout: () => undefined })).toBeUndefined();
    jest.useFakeTimers();
    try {
      expect(readNodeTimer(setTimeout(() => undefined, 10))).toBeUndefined();
    } finally {
      jest.useRealTimers();
    }
  });
});
