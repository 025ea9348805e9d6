import { randomBytes } from 'node:crypto';

/**
 * An engine.io session id that names the slot of the worker that created it: `<slot>.<random>`. The
 * primary's sticky listener (`sticky: 'sid'`) reads the slot back from `?sid=` to hand every request
 * of the session to that worker. 120 random bits, base64url, as hard to guess as engine.io's own ids.
 */
export function slotSessionId(slot: number): string {
  return `${slot}.${randomBytes(15).toString('base64url')}`;
}
