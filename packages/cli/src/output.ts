import type { Io } from './io.js';
import { out } from './io.js';

/** Prints rows as columns aligned on the widest cell, with an upper-case header. */
export function printTable(io: Io, headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const lines = all.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
  out(io, lines.join('\n'));
}

export function printJson(io: Io, value: unknown): void {
  out(io, JSON.stringify(value, null, 2));
}

/** Key: value lines, keys aligned. */
export function printFields(io: Io, fields: readonly (readonly [string, string])[]): void {
  const width = Math.max(...fields.map(([k]) => k.length)) + 1;
  out(io, fields.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`).join('\n'));
}

/** Timestamps to the second, which is what a person reads in a table. */
export function when(iso: string | null): string {
  return iso === null ? '-' : iso.replace(/\.\d+Z$/, 'Z');
}
