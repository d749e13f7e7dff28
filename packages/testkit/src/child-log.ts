import { readFileSync } from 'node:fs';

const LOG_TAIL_CHARS = 4000;

/** The end of a child's log file, for an error message; '' when it cannot be read. */
export function logTail(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return '';
  }
  return text.slice(-LOG_TAIL_CHARS).trimEnd();
}
