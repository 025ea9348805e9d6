import autocannon, { type Result } from 'autocannon';

export interface Load {
  /** Resolves once the first response came back: the load is really running. */
  readonly running: Promise<void>;
  /** Stops the load and resolves with what it saw. */
  stop(): Promise<Result>;
}

/**
 * A keep-alive connection's requests per second: every connection stays busy through a drain or a
 * hand-off (one request every 20 ms), without taking the CPU that the suites running beside this one
 * need, as an unpaced load would.
 */
const REQUESTS_PER_CONNECTION_PER_SECOND = 50;

/**
 * Keep-alive HTTP load on 127.0.0.1 (autocannon, in this process), paced per connection, bounded by
 * `maxSeconds` even if the test forgets to stop it.
 */
export function startLoad(port: number, { connections = 10, path = '/', maxSeconds = 60 } = {}): Load {
  let instance!: autocannon.Instance;
  const result = new Promise<Result>((resolve, reject) => {
    const options = { connections, duration: maxSeconds, timeout: 10, connectionRate: REQUESTS_PER_CONNECTION_PER_SECOND };
    instance = autocannon({ url: `http://127.0.0.1:${port}${path}`, ...options }, (error, finished) => (error ? reject(error) : resolve(finished)));
  });
  const running = new Promise<void>((resolve) => instance.once('response', () => resolve()));
  return {
    running,
    stop: () => {
      instance.stop();
      return result;
    },
  };
}

/** Requests that did not get a 2xx answer: socket errors, timeouts and other statuses. */
export function failures(result: Result): number {
  return result.errors + result.non2xx;
}
