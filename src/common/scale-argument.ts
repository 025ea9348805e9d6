/**
 * The argument of a change of the worker count, read one way wherever it enters: the `nestjs-cluster
 * scale` command, the control socket, `ClusterService.scale` and the worker's channel to the primary.
 */
import { MAX_WORKERS } from '../options/option-parsers.js';

/** A count, or a change of it: as the command line and the wire carry it. */
const SCALE_ARGUMENT = /^[+-]?\d{1,5}$/;

/** What a change of the worker count may be, in words. */
export const SCALE_ALLOWED = `a worker count from 1 to ${MAX_WORKERS} (4), or a change of it as a string ('+2', '-1')`;

/**
 * `value` as it travels (`'4'`, `'+2'`, `'-1'`), or `undefined` when it is no worker count or change of
 * one: a number is a count (a whole number, never negative); a string is a count or, with its sign, a change.
 */
export function readScaleArgument(value: unknown): string | undefined {
  const text = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
  return typeof text === 'string' && SCALE_ARGUMENT.test(text) ? text : undefined;
}

/**
 * The worker count `argument` (read with `readScaleArgument`) asks for when there are `current`, or,
 * when that count is outside 1 to `MAX_WORKERS`, what would have been allowed.
 */
export function scaleTarget(argument: string, current: number): { readonly workers: number } | { readonly allowed: string } {
  const change = argument.startsWith('+') || argument.startsWith('-');
  const workers = change ? current + Number(argument) : Number(argument);
  if (workers >= 1 && workers <= MAX_WORKERS) return { workers };
  return {
    allowed: change
      ? `a change that leaves from 1 to ${MAX_WORKERS} workers (there are ${current}: ${argument} would leave ${workers})`
      : `a worker count from 1 to ${MAX_WORKERS}`,
  };
}
