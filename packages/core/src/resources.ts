import { PaasError } from './errors.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

/** Bounds that keep a typo (`cpu: "999"`) from becoming a plan no node can hold. */
export const resourceLimits = {
  minMemoryBytes: 4 * MiB,
  maxMemoryBytes: 1 * TiB,
  minCpuMilli: 1,
  maxCpuMilli: 128_000,
} as const;

const memoryUnits: Record<string, number> = {
  '': 1,
  b: 1,
  k: KiB,
  kb: KiB,
  ki: KiB,
  kib: KiB,
  m: MiB,
  mb: MiB,
  mi: MiB,
  mib: MiB,
  g: GiB,
  gb: GiB,
  gi: GiB,
  gib: GiB,
  t: TiB,
  tb: TiB,
  ti: TiB,
  tib: TiB,
};

/**
 * Parses a size as Docker and Kubernetes users write it: `256m`, `1g`, `512Mi`, or bytes. Units are
 * binary (Docker's `m` is MiB). Throws VALIDATION_FAILED naming `field`.
 */
export function parseByteSize(
  input: string | number,
  field: string,
  bounds: { min: number; max: number; describe: string },
): number {
  const text = String(input).trim();
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text);
  const unit = m ? memoryUnits[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new PaasError(
      'VALIDATION_FAILED',
      `${field}: "${text}" is not a size; use bytes or a number with a unit such as 256m, 1g or 512Mi`,
      { field },
    );
  }
  const bytes = Math.round(Number(m[1]) * unit);
  if (bytes < bounds.min || bytes > bounds.max) {
    throw new PaasError('VALIDATION_FAILED', `${field}: ${text} is out of range; ${bounds.describe}`, {
      field,
    });
  }
  return bytes;
}

/** Memory for an instance: between 4Mi and 1Ti. */
export function parseMemory(input: string | number, field = 'resources.memory'): number {
  return parseByteSize(input, field, {
    min: resourceLimits.minMemoryBytes,
    max: resourceLimits.maxMemoryBytes,
    describe: 'memory must be between 4Mi and 1Ti',
  });
}

/** Parses CPU as `0.5`, `1`, `2` (cores) or `500m` (milli-CPU) into milli-CPU. */
export function parseCpu(input: string | number, field = 'resources.cpu'): number {
  const text = String(input).trim();
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(text);
  if (!m) {
    throw new PaasError(
      'VALIDATION_FAILED',
      `${field}: "${text}" is not a CPU amount; use cores such as 0.5 or 2, or milli-CPU such as 500m`,
      { field },
    );
  }
  const raw = m[2] === 'm' ? Number(m[1]) : Number(m[1]) * 1000;
  const milli = Math.round(raw * 1e6) / 1e6; // 1.1 * 1000 is 1100.0000000000002 in binary floating point
  if (!Number.isInteger(milli)) {
    throw new PaasError('VALIDATION_FAILED', `${field}: ${text} is finer than one milli-CPU`, { field });
  }
  if (milli < resourceLimits.minCpuMilli || milli > resourceLimits.maxCpuMilli) {
    throw new PaasError(
      'VALIDATION_FAILED',
      `${field}: ${text} is out of range; cpu must be between 1m and 128 cores`,
      { field },
    );
  }
  return milli;
}

/** cgroup v1 `cpu.shares` for a milli-CPU amount: 1024 shares per core, never below 1. */
export function cpuShares(cpuMilli: number): number {
  // runc (the kernel's cpu.shares) refuses anything below 2.
  return Math.max(2, Math.round((cpuMilli * 1024) / 1000));
}

/** CFS quota in microseconds for a period (default 100 ms) from milli-CPU. */
export function cpuQuotaMicros(cpuMilli: number, periodMicros = 100_000): number {
  return Math.max(1000, Math.round((cpuMilli * periodMicros) / 1000));
}

/** Whole MiB of a byte count, rounding down (VMMs and cgroups take MiB). */
export function bytesToMiB(bytes: number): number {
  return Math.floor(bytes / MiB);
}

/** A short human form: 536870912 → "512Mi", 1500 milli-CPU → "1.5". */
export function formatMemory(bytes: number): string {
  if (bytes % GiB === 0) return `${bytes / GiB}Gi`;
  if (bytes % MiB === 0) return `${bytes / MiB}Mi`;
  if (bytes % KiB === 0) return `${bytes / KiB}Ki`;
  return String(bytes);
}

export function formatCpu(cpuMilli: number): string {
  return cpuMilli % 1000 === 0 ? String(cpuMilli / 1000) : `${cpuMilli}m`;
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `5s`, `500ms`, `2m` into milliseconds. */
export function parseDuration(input: string | number, field: string): number {
  const text = String(input).trim();
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  const unit = m ? durationUnits[m[2] ?? ''] : undefined;
  if (!m || unit === undefined) {
    throw new PaasError(
      'VALIDATION_FAILED',
      `${field}: "${text}" is not a duration; use e.g. 500ms, 5s or 2m`,
      {
        field,
      },
    );
  }
  const ms = Math.round(Number(m[1]) * unit);
  if (ms < 1 || ms > 24 * 3_600_000) {
    throw new PaasError('VALIDATION_FAILED', `${field}: ${text} is out of range (1ms to 24h)`, { field });
  }
  return ms;
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
