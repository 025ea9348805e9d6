import { jest } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { ClusterProcess, freePort, get, type OutputLine } from './helpers/cluster-process.js';

// A case boots a cluster of up to 4 workers (up to a minute on a busy machine) and then watches it.
jest.setTimeout(120_000);

const LOGS_APP = fileURLToPath(new URL('./fixtures/dist/logs-app.js', import.meta.url));

/** The fixture's payload of line i (see test/fixtures/logs-app.ts). */
const payload = (i: number): string => 'x'.repeat((i * 7919) % 3000);

async function startLogs(workers: number, env: Record<string, string> = {}): Promise<{ app: ClusterProcess; port: number }> {
  const port = await freePort();
  const app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: String(workers), ...env }, LOGS_APP);
  await app.waitForLines(/^SERVING \d+ \d+$/, workers, 60_000);
  return { app, port };
}

/** Lines of the output whose text matches `pattern`, with the slot each was tagged with. */
const tagged = (app: ClusterProcess, pattern: RegExp): OutputLine[] => app.tagged.filter((l) => pattern.test(l.text));

describe('worker output through the primary (logs: tagged, the default)', () => {
  let app: ClusterProcess;
  afterEach(() => app?.killGroup());

  it('10,000 lines written by 4 workers at once arrive whole, each tagged with its slot; a JSON line gets a slot field', async () => {
    let port: number;
    ({ app, port } = await startLogs(4));
    await get(port, '/burst?n=2500');
    await app.waitForLines(/^BURST_DONE \d$/, 4, 60_000);

    const lines = tagged(app, /^LINE /);
    expect(lines).toHaveLength(10_000);
    const bySlot = new Map<number, number[]>();
    for (const { text, slot } of lines) {
      const match = /^LINE (\d) (\d+) (x*)$/.exec(text);
      // Whole: the slot it names is its tag, and its payload is the one line i has, to the last character.
      expect(match).not.toBeNull();
      const [, named, i, body] = match!;
      expect(slot).toBe(Number(named));
      if (body !== payload(Number(i))) throw new Error(`line ${i} of slot ${named} arrived torn: ${body!.length} characters`);
      bySlot.set(slot!, [...(bySlot.get(slot!) ?? []), Number(i)]);
    }
    // Each worker's lines, all of them, in the order it wrote them.
    expect([...bySlot.keys()].sort()).toEqual([0, 1, 2, 3]);
    for (const indexes of bySlot.values()) expect(indexes).toEqual(Array.from({ length: 2_500 }, (_, i) => i));

    const json = app.lines.filter((l) => l.startsWith('{"slot":')).map((l) => JSON.parse(l) as { slot: number; msg: string; from: number });
    expect(json.filter((j) => j.msg === 'json line')).toHaveLength(4);
    for (const line of json.filter((j) => j.msg === 'json line'))
      expect(line).toEqual({ slot: line.from, msg: 'json line', from: line.from, nested: { ok: true } });
    // The primary's own lines are not tagged.
    await app.waitForLine(/cluster ready: 4 worker\(s\) ready in \d+ ms/);
    expect(tagged(app, /cluster ready: 4 worker\(s\) ready in \d+ ms/)).toEqual([expect.objectContaining({ slot: undefined })]);
  });

  it("keeps a crashing worker's last line without a newline, and shows its stack trace, tagged", async () => {
    let port: number;
    ({ app, port } = await startLogs(2));
    const { body } = await get(port, '/crash');
    await app.waitForLine(new RegExp(`^PARTIAL_LAST ${body.pid}$`));
    const partial = tagged(app, new RegExp(`^PARTIAL_LAST ${body.pid}$`));
    expect(partial).toEqual([{ text: `PARTIAL_LAST ${body.pid}`, slot: body.slot }]);
    await app.waitForLine(new RegExp(`Error: fixture crash in slot ${body.slot}`));
    const stack = app.tagged.filter((l) => l.slot === body.slot && /^\s+at /.test(l.text));
    expect(stack.length).toBeGreaterThan(0);
    expect(tagged(app, /Error: fixture crash/)[0]!.slot).toBe(body.slot);
    // The slot is restarted, and serves again.
    await app.waitForLines(new RegExp(`^SERVING ${body.slot} \\d+$`), 2);
  });

  it("prints one boot log for 4 workers, and not the boot of a replacement; then '4 worker(s) ready in X ms'", async () => {
    ({ app } = await startLogs(4));
    const boots = tagged(app, /^BOOT_LINE /);
    expect(boots).toHaveLength(1);
    const [first] = boots;
    // Nest's own boot log, once: every InstanceLoader line comes from the worker whose boot shows.
    const loaders = tagged(app, /InstanceLoader/);
    expect(loaders.length).toBeGreaterThan(0);
    expect(new Set(loaders.map((l) => l.slot))).toEqual(new Set([first!.slot]));
    await app.waitForLine(/cluster ready: 4 worker\(s\) ready in \d+ ms/);

    // A replacement boots without showing its boot.
    const victim = Number(/^SERVING (\d+) (\d+)$/.exec(app.lines.find((l) => l.startsWith('SERVING 3 '))!)![2]);
    process.kill(victim, 'SIGKILL');
    await app.waitForLines(/^SERVING 3 \d+$/, 2);
    expect(tagged(app, /^BOOT_LINE /)).toHaveLength(1);
    expect(tagged(app, /InstanceLoader/)).toHaveLength(loaders.length);
  });

  it('prints every boot with bootLogs: all (CLUSTER_BOOT_LOGS)', async () => {
    ({ app } = await startLogs(4, { CLUSTER_BOOT_LOGS: 'all' }));
    await app.waitForLines(/^BOOT_LINE /, 4);
    expect(new Set(tagged(app, /^BOOT_LINE /).map((l) => l.slot))).toEqual(new Set([0, 1, 2, 3]));
  });

  it('shows the whole boot and the error of a worker that fails to boot, and no other boot', async () => {
    app = ClusterProcess.start({ PORT: String(await freePort()), CLUSTER_WORKERS: '4', FIXTURE_FAIL_SLOT: '2' }, LOGS_APP);
    await app.waitForLine(/fixture boot failure in slot 2/);
    await app.waitForLine(/^BOOT_LINE 2 \d+$/);
    expect(tagged(app, /fixture boot failure in slot 2/)[0]!.slot).toBe(2);
    expect(tagged(app, /^BOOT_LINE 2 /)[0]!.slot).toBe(2);
    await app.waitForLines(/^SERVING [013] \d+$/, 3, 60_000);
    // The first worker's boot, and the failed one's: no other.
    expect(new Set(tagged(app, /^BOOT_LINE /).map((l) => l.slot))).toEqual(new Set([0, 2]));
  });

  it('leaves the output alone with logs: inherit (CLUSTER_LOGS): no tag, every boot', async () => {
    ({ app } = await startLogs(2, { CLUSTER_LOGS: 'inherit' }));
    await app.waitForLines(/^BOOT_LINE /, 2);
    expect(app.tagged.filter((l) => l.slot !== undefined)).toEqual([]);
  });
});
