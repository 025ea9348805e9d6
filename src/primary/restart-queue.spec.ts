import { RestartQueue, type RestartRun } from './restart-queue.js';

/** A queue whose runs the test moves slot by slot; `log` says which run replaced which slot. */
function queue() {
  const log: string[] = [];
  const runs: Array<{ run: RestartRun; step: () => void; end: () => void }> = [];
  const restarts = new RestartQueue(
    (run) =>
      new Promise<void>((resolve) => {
        runs.push({
          run,
          step: () => log.push(`${run.reason}:${run.slots[run.next++]}`),
          end: () => resolve(),
        });
      }),
  );
  return { restarts, log, runs };
}

/** Lets the promise callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function tracked(promise: Promise<void>): () => boolean {
  let done = false;
  void promise.then(() => (done = true));
  return () => done;
}

describe('RestartQueue', () => {
  it('runs a request at once when none runs', () => {
    const { restarts, runs } = queue();
    void restarts.request('deploy', [0, 1]);
    expect(restarts.active).toBe(true);
    expect(runs.map((r) => [r.run.reason, r.run.slots])).toEqual([['deploy', [0, 1]]]);
  });

  it('a request whose slots are all still ahead joins the running one', async () => {
    const { restarts, runs } = queue();
    const first = tracked(restarts.request('deploy', [0, 1, 2]));
    runs[0]!.step(); // slot 0 passed
    const joined = tracked(restarts.request('memory', [2]));
    expect(restarts.covers(1)).toBe(true);
    expect(restarts.covers(0)).toBe(false);
    runs[0]!.end();
    await settle();
    expect([first(), joined()]).toEqual([true, true]);
    expect(runs).toHaveLength(1);
    expect(restarts.active).toBe(false);
  });

  it('a slot already passed (its replacement forked before the request) is queued', async () => {
    const { restarts, runs } = queue();
    void restarts.request('memory', [1]);
    runs[0]!.step();
    const hup = tracked(restarts.request('SIGHUP', [0, 1, 2]));
    expect([0, 1, 2].map((s) => restarts.covers(s))).toEqual([true, true, true]);
    runs[0]!.end();
    await settle();
    expect(runs.map((r) => [r.run.reason, r.run.slots])).toEqual([
      ['memory', [1]],
      ['SIGHUP', [0, 1, 2]],
    ]);
    expect(hup()).toBe(false);
    runs[1]!.end();
    await settle();
    expect(hup()).toBe(true);
  });

  it('queues only what the running one does not cover, and coalesces later requests', async () => {
    const { restarts, runs } = queue();
    void restarts.request('deploy', [0, 1, 2]);
    runs[0]!.step(); // slot 0 passed; 1 and 2 ahead
    const a = tracked(restarts.request('a', [0, 2]));
    const b = tracked(restarts.request('b', [0]));
    const a2 = tracked(restarts.request('a', [1, 2])); // ahead: joins the running one
    runs[0]!.end();
    await settle();
    expect(runs.map((r) => [r.run.reason, r.run.slots])).toEqual([
      ['deploy', [0, 1, 2]],
      ['a, b', [0]],
    ]);
    expect([a(), b(), a2()]).toEqual([false, false, true]);
    runs[1]!.end();
    await settle();
    expect([a(), b()]).toEqual([true, true]);
  });

  it('clear drops the pending run and resolves its requests', async () => {
    const { restarts, runs } = queue();
    void restarts.request('deploy', [0]);
    runs[0]!.step();
    const queued = tracked(restarts.request('again', [0]));
    restarts.clear();
    await settle();
    expect(queued()).toBe(true);
    runs[0]!.end();
    await settle();
    expect(runs).toHaveLength(1);
  });
});
