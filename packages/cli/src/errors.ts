import { isApiError } from '@shellwego/api-client';

/** Exit codes: 1 for an error the user can act on, 2 for a usage error (unknown command, bad option). */
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

/** An expected failure found by the CLI itself, shown as one line like the API's errors. */
export class CliError extends Error {
  readonly code: string;
  readonly field: string | undefined;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(
    code: string,
    message: string,
    opts: { field?: string; hint?: string; exitCode?: number } = {},
  ) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.field = opts.field;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? EXIT_ERROR;
  }
}

export function usageError(message: string): CliError {
  return new CliError('USAGE', message, { exitCode: EXIT_USAGE });
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** A zod error (from a config parse) carries issues; show the first as "field: problem". */
function zodIssue(e: unknown): string | null {
  const issues = (e as { issues?: unknown }).issues;
  if (!Array.isArray(issues) || issues.length === 0) return null;
  const first = issues[0] as { path?: unknown; message?: unknown };
  const path = Array.isArray(first.path) ? first.path.map(String).join('.') : '';
  const message = typeof first.message === 'string' ? first.message : 'invalid';
  return path === '' ? message : `${path}: ${message}`;
}

/**
 * The single line an error becomes on stderr, e.g. `error: app nope not found (APP_NOT_FOUND)`, and the exit
 * code. Never a stack trace, unless SHELLWEGO_DEBUG asks for one.
 */
export function describeError(e: unknown, debug: boolean): { line: string; exitCode: number } {
  if (isApiError(e) || e instanceof CliError) {
    let message = e.message;
    // The server's validation messages start with the field; say it when one does not.
    if (e.field !== undefined && !message.includes(e.field)) message = `${e.field}: ${message}`;
    const hint = e.hint === undefined ? '' : `; ${e.hint}`;
    return {
      line: oneLine(`error: ${message} (${e.code})${hint}`),
      exitCode: e instanceof CliError ? e.exitCode : EXIT_ERROR,
    };
  }
  const issue = zodIssue(e);
  if (issue !== null) return { line: oneLine(`error: ${issue} (VALIDATION_FAILED)`), exitCode: EXIT_ERROR };
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    const suffix = typeof code === 'string' && !e.message.includes(code) ? ` (${code})` : '';
    const line = oneLine(`error: ${e.message}${suffix}`);
    if (debug && e.stack) return { line: `${line}\n${e.stack}`, exitCode: EXIT_ERROR };
    return { line, exitCode: EXIT_ERROR };
  }
  return { line: oneLine(`error: ${String(e)}`), exitCode: EXIT_ERROR };
}
