const units = [
  { name: 'TiB', size: 1024 ** 4 },
  { name: 'GiB', size: 1024 ** 3 },
  { name: 'MiB', size: 1024 ** 2 },
  { name: 'KiB', size: 1024 },
] as const;

/**
 * Bytes for a person to read: `512 MiB`, `1.5 GiB`, at most two decimals. A need rounds `up` and a
 * free amount rounds `down`, so a shortfall never prints as two equal figures.
 */
export function formatBytes(bytes: number, rounding: 'up' | 'down' = 'down'): string {
  const value = Math.max(0, bytes);
  const unit = units.find((u) => value >= u.size);
  if (!unit) return `${Math.round(value)} B`;
  // Cut float noise first: 1.1 * 100 is 110.00000000000001, which would ceil to 1.11.
  const hundredths = Math.round((value / unit.size) * 100 * 1e6) / 1e6;
  const rounded = (rounding === 'up' ? Math.ceil(hundredths) : Math.floor(hundredths)) / 100;
  return `${rounded} ${unit.name}`;
}

/** Milli-CPU as operators write it in limits: `1500m`. */
export function formatCpu(cpuMilli: number): string {
  return `${Math.max(0, Math.round(cpuMilli))}m`;
}

/** Up to three names, then a count: `a, b, c and 4 more`. */
export function listNames(names: readonly string[]): string {
  if (names.length <= 3) return names.join(', ');
  return `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}
