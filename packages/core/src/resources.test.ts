import { describe, expect, it } from 'vitest';
import {
  bytesToMiB,
  cpuShares,
  formatCpu,
  formatMemory,
  parseCpu,
  parseDuration,
  parseMemory,
} from './resources.js';
import { PaasError } from './errors.js';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof PaasError ? e.field : 'not a PaasError';
  }
  return 'no error';
}

describe('resource strings', () => {
  it('parses memory as users write it', () => {
    expect(parseMemory('256m')).toBe(256 * 1024 * 1024);
    expect(parseMemory('1g')).toBe(1024 ** 3);
    expect(parseMemory('512Mi')).toBe(512 * 1024 * 1024);
    expect(parseMemory('536870912')).toBe(536870912);
    expect(parseMemory(536870912)).toBe(536870912);
    expect(parseMemory('1.5Gi')).toBe(1.5 * 1024 ** 3);
  });

  it('parses CPU as cores or milli-CPU', () => {
    expect(parseCpu('0.5')).toBe(500);
    expect(parseCpu('1')).toBe(1000);
    expect(parseCpu('500m')).toBe(500);
    expect(parseCpu(2)).toBe(2000);
    expect(parseCpu('1.1')).toBe(1100);
  });

  it("does the seed's resource math", () => {
    expect(cpuShares(500)).toBe(512);
    expect(cpuShares(1500)).toBe(1536);
    expect(cpuShares(1)).toBe(2);
    expect(bytesToMiB(536870912)).toBe(512);
  });

  it('refuses negative, absurd and malformed values, naming the field', () => {
    for (const bad of ['-1', '', 'lots', '12q', '0', '2Ti']) {
      expect(fieldOf(() => parseMemory(bad))).toBe('resources.memory');
    }
    for (const bad of ['999', '-1', '0', 'x', '0.0001', '1.5m']) {
      expect(fieldOf(() => parseCpu(bad))).toBe('resources.cpu');
    }
    expect(() => parseCpu('999')).toThrow(/out of range/);
  });

  it('round-trips the short forms', () => {
    expect(formatMemory(parseMemory('256m'))).toBe('256Mi');
    expect(formatMemory(parseMemory('1g'))).toBe('1Gi');
    expect(formatCpu(parseCpu('0.5'))).toBe('500m');
    expect(formatCpu(parseCpu('2'))).toBe('2');
  });

  it('parses durations', () => {
    expect(parseDuration('5s', 'x')).toBe(5000);
    expect(parseDuration('500ms', 'x')).toBe(500);
    expect(parseDuration('2m', 'x')).toBe(120_000);
    expect(fieldOf(() => parseDuration('5', 'health_check.interval'))).toBe('health_check.interval');
  });
});
