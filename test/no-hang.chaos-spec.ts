/**
 * No connection left hanging when a worker is SIGKILLed: a 2-worker HTTP cluster (express) and a
 * 2-worker TCP microservice cluster, each under keep-alive load plus a stream of new connections, have
 * a worker SIGKILLed again and again (the next kill once the replacement is ready), with a burst of new
 * connections right after each kill. Every request must be answered or fail fast (a reset, for one a
 * killed worker had taken): none may wait more than `HANG_MS`, and no new connection may be refused.
 * What node:cluster's own round robin does in the same case (connections hang) is measured by the
 * benchmark (`npm run bench -- --only availability`), not here: a count that depends on timing.
 *
 * NO_HANG_KILLS: SIGKILLs per cluster (default 8: each waits for a Nest boot under load, 1 to 4 s on a
 * shared 2-core machine, so 25 per cluster, 50 in all, takes about 4 minutes).
 */
import { jest } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { ClusterProcess, freePort } from './helpers/cluster-process.js';
import { HANG_MS, httpKeepAliveLoad, httpProbe, loops, Tally, tcpKeepAliveLoad, tcpProbe, type Outcome } from './helpers/connection-probes.js';

const KILLS = Number(process.env.NO_HANG_KILLS ?? 8);
const MICROSERVICE_APP = fileURLToPath(new URL('./fixtures/dist/microservice-app.js', import.meta.url));

// Each kill waits for a Nest boot under load; on a busy 2-core machine that is a second or two.
// Each kill waits for a replacement's boot: up to 4 s on a busy machine, and some margin.
jest.setTimeout(60_000 + KILLS * 10_000);

/** Restarts at once and for good: a SIGKILL every second is the test, not a crash loop. */
const RESTARTS = { CLUSTER_RESTART_INITIAL_DELAY_MS: '0', CLUSTER_RESTART_FACTOR: '1', CLUSTER_MAX_RESTARTS: '1000000' };
/** Keep-alive clients, and loops opening one new connection after another. */
const KEPT_CONNECTIONS = 4;
const NEW_CONNECTION_LOOPS = 2;
/** New connections opened in the 50 ms after each kill. */
const BURST = 10;

type Probe = (tally: Tally) => Promise<void>;

interface Kind {
  readonly name: string;
  start(port: number, env: Record<string, string>): ClusterProcess;
  /** One request on a new connection. */
  fresh(port: number): Promise<{ outcome: Outcome; pid?: number }>;
  keepAlive(port: number, count: number, tally: Tally): { stop(): Promise<void> };
}

const HTTP: Kind = {
  name: 'an HTTP app (express)',
  start: (port, env) => ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: '2', ...env }),
  fresh: (port) => httpProbe(port, false),
  keepAlive: httpKeepAliveLoad,
};

const TCP: Kind = {
  name: 'a TCP microservice',
  start: (port, env) => ClusterProcess.start({ FIXTURE_KIND: 'tcp', PORT: String(port), CLUSTER_WORKERS: '2', ...env }, MICROSERVICE_APP),
  fresh: (port) => tcpProbe(port).result,
  keepAlive: tcpKeepAliveLoad,
};

/**
 * Runs the load on `kind`, SIGKILLs a worker `kills` times (slots in turn; each time once the previous
 * victim's replacement is ready, from the primary's `ready` event) and returns what the clients saw.
 */
async function killUnderLoad(kind: Kind, kills: number, env: Record<string, string> = {}): Promise<{ tally: Tally; app: ClusterProcess }> {
  const port = await freePort();
  const app = kind.start(port, { ...RESTARTS, ...env });
  const tally = new Tally();
  try {
    const serving = new Map((await app.waitForReady(2)).map((w) => [w.slot, w.pid]));
    const kept = kind.keepAlive(port, KEPT_CONNECTIONS, tally);
    const probe: Probe = async (into) => {
      const { outcome, pid } = await kind.fresh(port);
      into.add(outcome, true, pid);
    };
    const stream = loops(NEW_CONNECTION_LOOPS, () => probe(tally));
    const bursts: Array<Promise<void>> = [];
    for (let k = 0; k < kills; k++) {
      const slot = k % 2;
      const victim = serving.get(slot)!;
      const seen = app.primaryEvents().length;
      process.kill(victim, 'SIGKILL');
      for (let i = 0; i < BURST; i++) bursts.push(new Promise((resolve) => setTimeout(resolve, (i * 50) / BURST)).then(() => probe(tally)));
      const replacement = await app.waitForPrimaryEvents(
        (events) => events.slice(seen).find((e) => e.type === 'ready' && e.slot === slot && e.pid !== victim),
        `slot ${slot} ready again after SIGKILL ${k + 1}`,
        30_000,
      );
      serving.set(slot, replacement.pid!);
    }
    await Promise.all([kept.stop(), stream.stop(), ...bursts]);
    const killed = app.primaryEvents().filter((e) => e.type === 'exit' && e.signal === 'SIGKILL');
    expect(killed).toHaveLength(kills);
    return { tally, app };
  } finally {
    await app.stop();
  }
}

describe.each([HTTP, TCP])('$name, 2 workers, a worker SIGKILLed again and again under load', (kind) => {
  it(`answers or resets every request within ${HANG_MS} ms and refuses no new connection (${KILLS} SIGKILLs)`, async () => {
    const { tally } = await killUnderLoad(kind, KILLS);
    console.log(`${kind.name}, ${KILLS} SIGKILLs, distribution 'primary': ${JSON.stringify({ fresh: tally.fresh, reused: tally.reused })}`);
    expect(tally.hung).toBe(0);
    expect(tally.fresh.refused).toBe(0);
    // The replacements served too: more pids answered than the two first workers.
    expect(tally.pids.size).toBeGreaterThan(2);
    expect(tally.fresh.answered).toBeGreaterThan(KILLS * BURST * 0.5);
  });
});
