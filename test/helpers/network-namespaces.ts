import { execFileSync, spawnSync } from 'node:child_process';

/**
 * Hosts on one machine: each network namespace has its own loopback and addresses, and a link set
 * down between two of them is a real partition (packets vanish; no connection is reset). Needs root
 * and iproute2; `unavailable()` says why they cannot be used here.
 */
export class NetworkNamespaces {
  private readonly names: string[] = [];
  private readonly links: Array<{ ns: string; device: string }> = [];

  constructor(private readonly prefix = `ncl${process.pid}`) {}

  /** Why namespaces cannot be made here, or `undefined` when they can. */
  static unavailable(): string | undefined {
    if (process.getuid?.() !== 0) return 'network namespaces need root';
    if (spawnSync('ip', ['-V']).error) return 'iproute2 (the ip command) is not installed';
    const probe = `nclprobe${process.pid}`;
    const made = spawnSync('ip', ['netns', 'add', probe]);
    if (made.status !== 0) return `ip netns add failed: ${made.stderr?.toString().trim()}`;
    spawnSync('ip', ['netns', 'del', probe]);
    return undefined;
  }

  /** A namespace with its loopback up; returns its name. */
  add(name: string): string {
    const ns = `${this.prefix}-${name}`;
    run('ip', 'netns', 'add', ns);
    this.names.push(ns);
    run('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    return ns;
  }

  /** A point-to-point link between `a` (address `a.ip`) and `b` (address `b.ip`), on a /24. */
  connect(a: { ns: string; device: string; ip: string }, b: { ns: string; device: string; ip: string }): void {
    const [ta, tb] = [`${this.prefix}a${this.links.length}`, `${this.prefix}b${this.links.length}`].map((n) => n.slice(-15));
    run('ip', 'link', 'add', ta!, 'type', 'veth', 'peer', 'name', tb!);
    for (const [temp, end] of [
      [ta!, a],
      [tb!, b],
    ] as const) {
      run('ip', 'link', 'set', temp, 'netns', end.ns);
      run('ip', 'netns', 'exec', end.ns, 'ip', 'link', 'set', temp, 'name', end.device);
      run('ip', 'netns', 'exec', end.ns, 'ip', 'addr', 'add', `${end.ip}/24`, 'dev', end.device);
      run('ip', 'netns', 'exec', end.ns, 'ip', 'link', 'set', end.device, 'up');
      this.links.push({ ns: end.ns, device: end.device });
    }
  }

  /** Cuts (`down`) or restores (`up`) a device of a namespace. */
  setLink(ns: string, device: string, state: 'up' | 'down'): void {
    run('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', device, state);
  }

  /** The command prefix that runs a program inside `ns`. */
  exec(ns: string): string[] {
    return ['ip', 'netns', 'exec', ns];
  }

  /** An HTTP GET from inside `ns`, parsed as JSON (the test's own namespace cannot reach its loopback). */
  getJson(ns: string, url: string): unknown {
    const out = execFileSync('ip', ['netns', 'exec', ns, 'curl', '-s', '--max-time', '5', url]).toString();
    return JSON.parse(out);
  }

  /** Deletes every namespace it made (their links go with them). */
  removeAll(): void {
    for (const ns of this.names.splice(0)) spawnSync('ip', ['netns', 'del', ns]);
  }
}

function run(...command: string[]): void {
  const result = spawnSync(command[0]!, command.slice(1));
  if (result.status !== 0) throw new Error(`${command.join(' ')} failed: ${result.stderr?.toString().trim()}`);
}
