import type { Logger } from '@nestjs/common';
import { describeError } from '../../common/describe-error.js';

/** Kept on globalThis so two copies of the package in one process (a bundling accident) still agree. */
const HOOKS = Symbol.for('nestjs-cluster.drain-hooks');
type Holder = { [HOOKS]?: Set<() => void> };

function hooks(): Set<() => void> {
  return ((globalThis as Holder)[HOOKS] ??= new Set());
}

/**
 * Runs `hook` when this process begins to drain, before the HTTP server and the transports drain:
 * for what holds connections open for good (a WebSocket server closes its clients, which reconnect to
 * another worker). Returns a function that removes it.
 */
export function onDrain(hook: () => void): () => void {
  hooks().add(hook);
  return () => hooks().delete(hook);
}

/** Runs every drain hook once; one that throws is logged and the others still run. */
export function runDrainHooks(logger: Logger): void {
  const all = [...hooks()];
  hooks().clear();
  for (const hook of all) {
    try {
      hook();
    } catch (error) {
      logger.error(`a drain hook failed: ${describeError(error)}`);
    }
  }
}
