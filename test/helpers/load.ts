import autocannon, { type Result } from 'autocannon';

export interface Load {
  /** Resolves once the first response came back: the load is really running. */
  readonly running: Promise<void>;
  /** Stops the load and resolves with what it saw. */
  stop(): Promise<Result>;
}

/**
 * Keep-alive HTTP load on 127.0.0.1 (autocannon, in this process), bounded by `maxSeconds` even if
 * the test forgets to stop it.
 */
export function startLoad(port: number, { connections = 10, path = '/', maxSeconds = 60 } = {}): Load {
  let instance!: autocannon.Instance;
  const result = new Promise<Result>((resolve, reject) => {
    instance = autocannon({ url: `http://127.0.0.1:${port}${path}`, connections, duration: maxSeconds, timeout: 10 }, (error, finished) =>
      error ? reject(error) : resolve(finished),
    );
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
