import { CliError } from './errors.js';

/** A whole number from a flag, e.g. --port 8080; range checks are the server's (it names the field). */
export function parseInteger(value: string, flag: string, field: string): number {
  if (!/^[+-]?\d+$/.test(value.trim())) {
    throw new CliError('VALIDATION_FAILED', `${flag}: "${value}" is not a whole number`, { field });
  }
  return Number(value);
}

/**
 * K=V pairs (the value may contain '='). The offending argument is not echoed: it may be a secret
 * typed without its name.
 */
export function parseKeyValues(pairs: readonly string[], what: string, field: string): [string, string][] {
  return pairs.map((pair, i) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new CliError('VALIDATION_FAILED', `${what} ${i + 1} is not in the form NAME=VALUE`, { field });
    }
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  });
}
