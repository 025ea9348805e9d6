import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { HEARTBEAT_INTERVAL_MS, MAX_TIMER_MS } from '../cluster.constants.js';
import { ClusterConfigError, HiddenValue } from '../cluster.errors.js';
import type { ConnectionDistribution, StickyMode } from '../interfaces/bootstrap-options.interface.js';
import { SERIALIZATIONS, type Serialization } from '../messaging/payload-codec.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Validates one setting; `raw` is a string from the environment or the option's own value. */
export interface Parser<T> {
  (raw: unknown, fromEnv: boolean): T | undefined;
  /** What is allowed, in words, for the error message. */
  readonly allowed: string;
  /** How an error shows a bad value, when it must not show it as it is (a password, a URL with one). */
  readonly shown?: (raw: unknown) => unknown;
}

/**
 * Explicit option > environment > `fallback`, validated: throws a `ClusterConfigError` naming where
 * the bad value came from (`optionName` or `envName`), the value as given and what is allowed.
 */
export function readSetting<T>(option: unknown, optionName: string, env: Env, envName: string, fallback: T, parse: Parser<T>): T {
  if (option !== undefined) return parseOrThrow(parse, option, false, optionName);
  const raw = env[envName];
  // An empty variable (`PORT=`) is treated as unset, as shells and dotenv files commonly produce it.
  if (raw !== undefined && raw.trim() !== '') return parseOrThrow(parse, raw, true, envName);
  return fallback;
}

function parseOrThrow<T>(parse: Parser<T>, raw: unknown, fromEnv: boolean, setting: string): T {
  // The error shows the value as given; parsing forgives surrounding blanks in the environment.
  const value = parse(fromEnv ? (raw as string).trim() : raw, fromEnv);
  if (value === undefined) throw new ClusterConfigError(setting, parse.shown ? parse.shown(raw) : raw, parse.allowed);
  return value;
}

function parser<T>(allowed: string, parse: (raw: unknown, fromEnv: boolean) => T | undefined, shown?: (raw: unknown) => unknown): Parser<T> {
  return Object.assign(parse, { allowed }, shown && { shown });
}

/** A URL as an error may show it: what stands before `@` (a user and password, a token) is hidden. */
export function withoutCredentials(raw: unknown): unknown {
  return typeof raw === 'string' ? raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@') : raw;
}

function toNumber(raw: unknown, fromEnv: boolean): number | undefined {
  if (fromEnv) return /^[+-]?\d+(\.\d+)?$/.test(raw as string) ? Number(raw) : undefined;
  return typeof raw === 'number' && Number.isFinite(raw) ? raw : undefined;
}

export function integer(min: number, max: number): Parser<number> {
  return parser(`a whole number from ${min} to ${max}`, (raw, fromEnv) => {
    const n = toNumber(raw, fromEnv);
    return n !== undefined && Number.isInteger(n) && n >= min && n <= max ? n : undefined;
  });
}

export function number(min: number, max: number): Parser<number> {
  return parser(`a number from ${min} to ${max}`, (raw, fromEnv) => {
    const n = toNumber(raw, fromEnv);
    return n !== undefined && n >= min && n <= max ? n : undefined;
  });
}

/** A time in milliseconds a timer can wait, from `min`. */
export const milliseconds = (min: number): Parser<number> => integer(min, MAX_TIMER_MS);

/** The most workers one node forks. */
export const MAX_WORKERS = 4_096;
export const parseWorkers = parser<number | 'auto'>(`a whole number from 1 to ${MAX_WORKERS}, or "auto"`, (raw, fromEnv) => {
  if (raw === 'auto' || (fromEnv && (raw as string).toLowerCase() === 'auto')) return 'auto';
  const n = toNumber(raw, fromEnv);
  return n !== undefined && Number.isInteger(n) && n >= 1 && n <= MAX_WORKERS ? n : undefined;
});

/** The most warm standbys one node keeps: each is a whole worker's memory. */
export const MAX_STANDBY = 64;

/** Below three heartbeats, one late timer in a busy but healthy worker would look like a hang. */
const MIN_UNRESPONSIVE_MS = 3 * HEARTBEAT_INTERVAL_MS;

export const parseUnresponsiveMs = parser<number>(`0 (off) or a whole number from ${MIN_UNRESPONSIVE_MS} to ${MAX_TIMER_MS}`, (raw, fromEnv) => {
  const n = toNumber(raw, fromEnv);
  return n !== undefined && Number.isInteger(n) && (n === 0 || (n >= MIN_UNRESPONSIVE_MS && n <= MAX_TIMER_MS)) ? n : undefined;
});

export const parseSerialization = parser<Serialization>(SERIALIZATIONS.map((s) => `"${s}"`).join(' or '), (raw) =>
  SERIALIZATIONS.includes(raw as Serialization) ? (raw as Serialization) : undefined,
);

export const parseSticky = parser<StickyMode | false>('false (also "off"), "sid" or "ip"', (raw, fromEnv) => {
  if (raw === false || raw === 'sid' || raw === 'ip') return raw;
  if (!fromEnv) return undefined;
  const word = (raw as string).toLowerCase();
  if (word === 'sid' || word === 'ip') return word;
  return word === 'off' || word === 'false' ? false : undefined;
});

export const parseDistribution = parser<ConnectionDistribution>('"primary" or "node"', (raw, fromEnv) => {
  const word = fromEnv && typeof raw === 'string' ? raw.toLowerCase() : raw;
  return word === 'primary' || word === 'node' ? word : undefined;
});

/** An IP address, or a host name (letters, digits, `.` and `-`) that resolves to one. */
export const parseHost = parser<string>('an IP address (such as "0.0.0.0" or "::") or a host name', (raw) =>
  typeof raw === 'string' && (isIP(raw) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(raw)) ? raw : undefined,
);

export const NODE_ID = /^[\w.:-]{1,128}$/;

export const parseNatsUrl = parser<string>(
  'a nats:// or tls:// URL, e.g. nats://127.0.0.1:4222',
  (raw) => {
    if (typeof raw !== 'string') return undefined;
    try {
      const url = new URL(raw);
      return (url.protocol === 'nats:' || url.protocol === 'tls:') && url.hostname !== '' ? raw : undefined;
    } catch {
      return undefined;
    }
  },
  withoutCredentials,
);

export const parseRedisUrl = parser<string>(
  'a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379',
  (raw) => {
    if (typeof raw !== 'string') return undefined;
    try {
      const url = new URL(raw);
      return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '' ? raw : undefined;
    } catch {
      return undefined;
    }
  },
  withoutCredentials,
);

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
const MAX_CREDENTIAL_LENGTH = 4_096;
const isCredential = (raw: unknown): raw is string =>
  typeof raw === 'string' && raw.length > 0 && raw.length <= MAX_CREDENTIAL_LENGTH && !CONTROL_CHARACTERS.test(raw);
const CREDENTIAL = `1 to ${MAX_CREDENTIAL_LENGTH} characters, no control characters`;

/** A user name: shown in errors. */
export const parseUserName = parser<string>(CREDENTIAL, (raw) => (isCredential(raw) ? raw : undefined));

/** A password or a token: an error says what kind of value it was, never the value. */
export const parseSecret = parser<string>(
  CREDENTIAL,
  (raw) => (isCredential(raw) ? raw : undefined),
  (raw) => new HiddenValue(typeof raw === 'string' ? `a string of ${raw.length} character(s)` : `a ${raw === null ? 'null' : typeof raw}`),
);

/** A file this process can read now: one that is missing stops the boot, not the first connection. */
export const parseReadableFile = parser<string>('the path of a file this process can read', (raw) => {
  if (typeof raw !== 'string' || raw === '') return undefined;
  try {
    accessSync(raw, constants.R_OK);
    return statSync(raw).isFile() ? raw : undefined;
  } catch {
    return undefined;
  }
});

/** Longest path Linux takes for a Unix socket (`sun_path` is 108 bytes, ending in NUL). */
const MAX_SOCKET_PATH = 107;
export const parseControl = parser<string>(`'off', or an absolute path of at most ${MAX_SOCKET_PATH} bytes for the control socket`, (raw) => {
  if (typeof raw !== 'string') return undefined;
  if (raw === 'off') return raw;
  return raw.startsWith('/') && Buffer.byteLength(raw) <= MAX_SOCKET_PATH ? raw : undefined;
});

export const parseNodeId = parser<string>('1 to 128 letters, digits, ".", "_", ":" or "-"', (raw) =>
  typeof raw === 'string' && NODE_ID.test(raw) ? raw : undefined,
);

/** A choice among a few words; from the environment, case does not matter. */
export function oneOf<const T extends string>(...words: readonly T[]): Parser<T> {
  return parser(words.map((w) => `"${w}"`).join(' or '), (raw, fromEnv) => {
    const word = fromEnv && typeof raw === 'string' ? raw.toLowerCase() : raw;
    return words.includes(word as T) ? (word as T) : undefined;
  });
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);
export const parseBoolean = parser<boolean>('true or false (also 1/0, yes/no, on/off)', (raw, fromEnv) => {
  if (!fromEnv) return typeof raw === 'boolean' ? raw : undefined;
  const word = (raw as string).toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
});
