import type { IncomingMessage } from 'node:http';
import type { Command } from 'commander';
import { WebSocket, type RawData } from 'ws';
import { ApiError, type LogLine } from '@shellwego/api-client';
import { CliError } from '../errors.js';
import type { Io } from '../io.js';
import { out } from '../io.js';
import { parseInteger } from '../parse.js';
import { openSession } from '../session.js';

interface LogsFlags {
  follow?: boolean;
  tail: string;
  instance?: string;
  json?: boolean;
}

/** `2026-11-29T22:40:01.123Z ins_…[stdout]: the line` */
function formatLine(l: LogLine): string {
  return `${l.at} ${l.instance_id}[${l.stream}]: ${l.line}`;
}

function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** A refused upgrade carries the API's JSON error, like any other answer. */
async function refusal(res: IncomingMessage): Promise<Error> {
  let text = '';
  for await (const chunk of res) text += (chunk as Buffer).toString('utf8');
  try {
    const { error } = JSON.parse(text) as {
      error?: { code?: unknown; message?: unknown; field?: unknown; hint?: unknown };
    };
    if (typeof error?.code === 'string' && typeof error.message === 'string') {
      return new ApiError({
        status: res.statusCode ?? 0,
        code: error.code,
        message: error.message,
        field: typeof error.field === 'string' ? error.field : undefined,
        hint: typeof error.hint === 'string' ? error.hint : undefined,
      });
    }
  } catch {
    // Not the API's JSON: described below by its status.
  }
  return new ApiError({
    status: res.statusCode ?? 0,
    code: 'BAD_RESPONSE',
    message: `the server refused the log stream with status ${String(res.statusCode)}`,
  });
}

/** Prints every line the server sends until it ends the stream, or until Ctrl-C (which is a normal end). */
function printStream(io: Io, url: string, token: string, json: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${token}` },
      handshakeTimeout: 30_000,
    });
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      process.off('SIGINT', interrupted);
      if (err) reject(err);
      else resolve();
    };
    const interrupted = (): void => {
      ws.terminate();
      finish();
    };
    process.once('SIGINT', interrupted);
    ws.on('message', (data: RawData) => {
      const text = textOf(data);
      if (json) return out(io, text);
      try {
        out(io, formatLine(JSON.parse(text) as LogLine));
      } catch {
        out(io, text);
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      void refusal(res).then(finish);
    });
    ws.on('error', (err) =>
      finish(new CliError('UNREACHABLE', `cannot stream logs from ${new URL(url).host}: ${err.message}`)),
    );
    ws.on('close', (code, reason) => {
      // 1000: every instance's stream ended; 1005: closed without a code (the server stopping).
      if (code === 1000 || code === 1005) return finish();
      const why = reason.toString('utf8') || `close code ${String(code)}`;
      finish(new CliError('LOG_STREAM_FAILED', `the log stream ended early: ${why}`));
    });
  });
}

export function registerLogs(program: Command, io: Io): void {
  program
    .command('logs <app>')
    .description(
      'Print the last lines of each of an app’s instances; with -f, keep printing new ones until Ctrl-C',
    )
    .option('-f, --follow', 'keep printing new lines as they come')
    .option('--tail <n>', 'lines of each instance to start with (1..10000)', '100')
    .option('--instance <id>', 'only this instance')
    .option('--json', 'print each line as a JSON object {instance_id, stream, line, at}')
    .action(async (app: string, flags: LogsFlags) => {
      const tail = parseInteger(flags.tail, '--tail', 'tail');
      const { client, url } = await openSession(io);
      // An ordinary call first: an unknown app fails the usual way, and an expired session is refreshed.
      await client.apps.get(app);
      const token = client.credentials().token;
      if (token === undefined) throw new CliError('NOT_LOGGED_IN', 'not logged in');
      const query = new URLSearchParams({ follow: flags.follow ? 'true' : 'false', tail: String(tail) });
      if (flags.instance !== undefined) query.set('instance', flags.instance);
      const wsUrl = `${url.replace(/^http/, 'ws')}/v1/apps/${encodeURIComponent(app)}/logs?${query.toString()}`;
      await printStream(io, wsUrl, token, Boolean(flags.json));
    });
}
