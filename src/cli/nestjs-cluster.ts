#!/usr/bin/env node
/**
 * `nestjs-cluster`: ask a running cluster's primary, through its control socket, what it is doing, and
 * tell it to reload or stop. See docs/cli.md for verbs and exit codes.
 */
import { parseArgs } from 'node:util';
import { controlPaths } from '../control/control-paths.js';
import { callControl, ControlUnreachableError, streamControl } from '../control/control-client.js';
import { readScaleArgument } from '../common/scale-argument.js';
import { MAX_LOG_LINES, type ControlReply, type ControlStatus, type ControlWorker } from '../control/control-protocol.js';
import type { WorkerLogLine } from '../primary/worker-logs.js';

const USAGE = `Usage: nestjs-cluster <command> [options]

Commands:
  status, ls          this node's primary and every worker
  describe <slot>     everything about the worker(s) of one slot
  reload              a rolling restart of every worker; waits until it is done
  scale <n|+k|-k>     n workers, or k more or fewer; waits until they are ready or gone
  logs                the last lines the workers wrote (--lines N, default 100; --slot S);
                      -f, --follow: then every new line, until Ctrl-C or the cluster stops
  stop                the graceful shutdown; waits for the cluster's exit code

Options:
  --name NAME         the cluster's name (env CLUSTER_NAME; default "default")
  --socket PATH       the control socket (env CLUSTER_CONTROL_SOCKET); overrides --name
  --json              the answer as JSON
  -h, --help          this text

Exit codes: 0 done; 1 the command failed (reload aborted, no such slot, the cluster stopped with a
non-zero code); 2 wrong usage; 3 no cluster answers at the socket; 4 the token was refused.`;

const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3, refused: 4 } as const;

function usage(problem: string): never {
  process.stderr.write(`nestjs-cluster: ${problem}\n\n${USAGE}\n`);
  process.exit(EXIT.usage);
}

async function main(): Promise<number> {
  // `scale -2` is a count, not an option.
  const args = process.argv.slice(2);
  const counts = args.filter((arg) => /^-\d+$/.test(arg));
  let parsed;
  try {
    parsed = parseArgs({
      args: args.filter((arg) => !counts.includes(arg)),
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        socket: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        lines: { type: 'string' },
        slot: { type: 'string' },
        follow: { type: 'boolean', short: 'f' },
      },
    });
  } catch (error) {
    usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  const [command, ...rest] = [...positionals, ...counts];
  const verb = command === 'ls' ? 'status' : command;
  if (verb === undefined) usage('a command is needed');
  if (!['status', 'describe', 'reload', 'scale', 'logs', 'stop'].includes(verb)) usage(`unknown command "${command}"`);
  let slot: number | undefined;
  let workers: string | undefined;
  if (verb === 'describe') {
    slot = Number(rest[0]);
    if (rest.length !== 1 || !Number.isInteger(slot) || slot < 0) usage(`describe needs one slot, an integer >= 0 (got ${rest.join(' ') || 'none'})`);
  } else if (verb === 'scale') {
    workers = rest.length === 1 ? readScaleArgument(rest[0]) : undefined;
    if (workers === undefined) usage(`scale needs one worker count or change: 4, +2 or -1 (got ${rest.join(' ') || 'none'})`);
  } else if (rest.length > 0) usage(`${command} takes no argument (got ${rest.join(' ')})`);
  if (verb !== 'logs' && (values.lines !== undefined || values.slot !== undefined || values.follow))
    usage('--lines, --slot and --follow go with logs');

  const name = values.name ?? process.env.CLUSTER_NAME ?? 'default';
  const socket = values.socket ?? controlPaths(name, process.env.CLUSTER_CONTROL_SOCKET)?.socket;
  if (socket === undefined) usage('CLUSTER_CONTROL_SOCKET is "off": pass --socket PATH');

  if (verb === 'logs') return logs(socket, values);
  let reply: ControlReply;
  try {
    reply = await callControl(socket, { verb: verb as 'status', ...(slot !== undefined && { slot }), ...(workers !== undefined && { workers }) });
  } catch (error) {
    if (!(error instanceof ControlUnreachableError)) throw error;
    process.stderr.write(`nestjs-cluster: ${error.message}\n`);
    return EXIT.unreachable;
  }
  if (values.json) process.stdout.write(`${JSON.stringify(reply.ok ? reply.result : { error: reply.error }, null, 2)}\n`);
  if (!reply.ok) {
    if (!values.json) process.stderr.write(`nestjs-cluster: ${reply.error.message}\n`);
    return reply.error.code === 'bad-token' ? EXIT.refused : reply.error.code === 'bad-request' ? EXIT.usage : EXIT.failed;
  }
  const result = reply.result as never;
  switch (verb) {
    case 'status':
      if (!values.json) process.stdout.write(statusTable(result));
      return EXIT.ok;
    case 'describe':
      if (!values.json) process.stdout.write(describeText(result));
      return EXIT.ok;
    case 'scale': {
      const { from, to } = result as { from: number; to: number };
      if (!values.json) process.stdout.write(`scaled from ${from} to ${to} worker(s)\n`);
      return EXIT.ok;
    }
    case 'reload':
      if (!values.json) process.stdout.write(`rolling restart done: ${(result as { replaced: number }).replaced} worker(s) replaced\n`);
      return EXIT.ok;
    default: {
      const { code } = result as { code: number };
      if (!values.json) process.stdout.write(`cluster stopped with exit code ${code}\n`);
      return code === 0 ? EXIT.ok : EXIT.failed;
    }
  }
}

/** `logs`: the last lines, tagged as the primary tags them (or one JSON object per line), then the new ones with `--follow`. */
async function logs(socket: string, values: { lines?: string; slot?: string; follow?: boolean; json?: boolean }): Promise<number> {
  const lines = values.lines === undefined ? 100 : Number(values.lines);
  const slot = values.slot === undefined ? undefined : Number(values.slot);
  if (!Number.isInteger(lines) || lines < 0 || lines > MAX_LOG_LINES)
    usage(`--lines must be a whole number from 0 to ${MAX_LOG_LINES} (got ${values.lines})`);
  if (slot !== undefined && !(Number.isInteger(slot) && slot >= 0)) usage(`--slot must be an integer >= 0 (got ${values.slot})`);
  const print = (line: WorkerLogLine) =>
    (line.stream === 'stderr' ? process.stderr : process.stdout).write(values.json ? `${JSON.stringify(line)}\n` : `[w${line.slot}] ${line.line}\n`);
  let failed: ControlReply | undefined;
  try {
    await streamControl(
      socket,
      { verb: 'logs', lines, follow: values.follow ?? false, ...(slot !== undefined && { slot }) },
      (reply) => (reply.ok ? (reply.result as { lines: WorkerLogLine[] }).lines.forEach(print) : (failed = reply)),
      (body) => print((body as { line: WorkerLogLine }).line),
    );
  } catch (error) {
    if (!(error instanceof ControlUnreachableError)) throw error;
    process.stderr.write(`nestjs-cluster: ${error.message}\n`);
    return EXIT.unreachable;
  }
  if (failed && !failed.ok) {
    process.stderr.write(`nestjs-cluster: ${failed.error.message}\n`);
    return failed.error.code === 'bad-token' ? EXIT.refused : failed.error.code === 'bad-request' ? EXIT.usage : EXIT.failed;
  }
  return EXIT.ok;
}

function statusTable(status: ControlStatus): string {
  const leader = status.leader ? `${status.leader.node}/${status.leader.slot} (epoch ${status.leader.epoch})` : 'none';
  const head = `node ${status.node}  cluster ${status.name}  primary pid ${status.pid}  up ${duration(status.uptimeMs)}  workers ${status.workers}  link ${status.transport}  leader ${leader}\n\n`;
  const rows = [
    ['SLOT', 'PID', 'STATE', 'UPTIME', 'RESTARTS', 'RSS', 'CPU', 'LEADER', 'CONGESTED'],
    ...status.processes.map((p: ControlWorker) => [
      p.slot < 0 ? '-' : String(p.slot),
      String(p.pid),
      p.state,
      duration(p.uptimeMs),
      String(p.restarts),
      p.rssMb === null ? '-' : `${p.rssMb.toFixed(0)} MB`,
      p.cpuPercent === null ? '-' : `${p.cpuPercent.toFixed(1)}%`,
      p.leader ? 'yes' : '',
      p.congested ? 'yes' : '',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    head +
    rows
      .map((r) =>
        r
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') +
    '\n'
  );
}

function describeText({ node, slot, processes }: { node: string; slot: number; processes: ControlWorker[] }): string {
  return processes
    .map((p) =>
      [
        `node ${node}, slot ${slot}`,
        ...Object.entries(p).map(
          ([key, value]) => `  ${key.padEnd(11)} ${key.endsWith('At') && typeof value === 'number' ? new Date(value).toISOString() : String(value)}`,
        ),
      ].join('\n'),
    )
    .join('\n\n')
    .concat('\n');
}

/** `42s`, `5m12s`, `3h04m`, `2d05h`. */
function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`nestjs-cluster: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = EXIT.failed;
  },
);
