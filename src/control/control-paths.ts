import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Where a cluster's control socket and its token live. */
export interface ControlPaths {
  readonly socket: string;
  /** The token every call must carry, readable by the owner only. */
  readonly token: string;
  readonly folder: string;
  /** The folder is the library's own default one (created 0700, checked before use). */
  readonly ownFolder: boolean;
}

/**
 * The control socket of the cluster `name`: the `control` option (`CLUSTER_CONTROL_SOCKET`) when set,
 * `undefined` when it is `'off'`, else `<name>.sock` in a per-user folder: `$XDG_RUNTIME_DIR/nestjs-cluster`
 * (systemd gives every user one, 0700), else `<os tmpdir>/nestjs-cluster-<uid>`.
 */
export function controlPaths(name: string, control: string | undefined, env: NodeJS.ProcessEnv = process.env): ControlPaths | undefined {
  if (control === 'off') return undefined;
  if (control !== undefined) return { socket: control, token: `${control}.token`, folder: dirname(control), ownFolder: false };
  const folder = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'nestjs-cluster') : join(tmpdir(), `nestjs-cluster-${process.getuid?.() ?? 'user'}`);
  const socket = join(folder, `${name}.sock`);
  return { socket, token: `${socket}.token`, folder, ownFolder: true };
}
