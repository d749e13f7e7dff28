// Formatting and small pure helpers shared by the pages; no DOM here, so unit tests run them in Node.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 10 ? 0 : 1)} ${UNITS[i]}`;
}

/** Millicores as CPUs: 500 → "0.5 CPU", 2000 → "2 CPU". */
export function formatCpu(milli: number): string {
  if (!Number.isFinite(milli) || milli < 0) return '–';
  const cpus = milli / 1000;
  return `${Number.isInteger(cpus) ? cpus : cpus.toFixed(cpus < 1 ? 2 : 1).replace(/0$/, '')} CPU`;
}

/** "in 5 min", "3 h ago", "just now": for timestamps near `now`. */
export function relativeTime(iso: string | null | undefined, now: Date = new Date()): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((t - now.getTime()) / 1000);
  const abs = Math.abs(s);
  if (abs < 10) return 'just now';
  const [n, unit] =
    abs < 60
      ? [abs, 's']
      : abs < 3600
        ? [Math.round(abs / 60), 'min']
        : abs < 86_400
          ? [Math.round(abs / 3600), 'h']
          : [Math.round(abs / 86_400), 'd'];
  return s < 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

/** Seconds between two timestamps as "1.2 s" / "3 min 4 s"; "–" when either is missing. */
export function duration(fromIso: string | null | undefined, toIso: string | null | undefined): string {
  if (!fromIso || !toIso) return '–';
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export type Tone = 'ok' | 'busy' | 'bad' | 'idle';

/** How a status reads at a glance (colour and icon of its badge). */
export function toneOf(status: string): Tone {
  switch (status) {
    case 'running':
    case 'succeeded':
    case 'healthy':
    case 'ready':
    case 'active':
      return 'ok';
    case 'failed':
    case 'unhealthy':
    case 'unreachable':
    case 'rolled_back':
      return 'bad';
    case 'stopped':
    case 'cancelled':
    case 'unknown':
      return 'idle';
    default:
      return 'busy';
  }
}

export const finishedDeployment = new Set(['succeeded', 'failed', 'rolled_back', 'cancelled']);

/** The WebSocket URL of an API path on the page's own origin (ws: for http:, wss: for https:). */
export function wsUrl(origin: string, path: string): string {
  const u = new URL(path, origin);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

/** What to run on a new node, as root, to join it with a join token. */
export function joinCommand(apiUrl: string, token: string): string {
  return `shellwego agent --join ${apiUrl} --token ${token}`;
}

/**
 * Log search: a case-insensitive substring, or a regular expression written /like this/i. An invalid expression
 * matches as plain text rather than throwing while the user types.
 */
export function logMatcher(query: string): (line: string) => boolean {
  const q = query.trim();
  if (q === '') return () => true;
  const re = /^\/(.+)\/([a-z]*)$/.exec(q);
  if (re?.[1]) {
    try {
      const rx = new RegExp(re[1], re[2]?.includes('i') ? 'i' : '');
      return (line) => rx.test(line);
    } catch {
      // Fall through to a plain search.
    }
  }
  const lower = q.toLowerCase();
  return (line) => line.toLowerCase().includes(lower);
}

/** `KEY=value` lines (blank lines and # comments skipped) to an env map; errors name the line. */
export function parseEnvLines(text: string): { env: Record<string, string>; errors: string[] } {
  const env: Record<string, string> = {};
  const errors: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq).trim();
    if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      errors.push(`line ${i + 1}: expected NAME=value with a name of letters, digits and _`);
      return;
    }
    env[key] = line.slice(eq + 1);
  });
  return { env, errors };
}

export function envToLines(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

/** Keeps the last `max` samples of a time series. */
export function pushSample<T>(series: readonly T[], sample: T, max = 120): T[] {
  const next = [...series, sample];
  return next.length > max ? next.slice(next.length - max) : next;
}
