import { describe, expect, it } from 'vitest';
import { formatBytes, formatCpu, listNames } from './format.js';

describe('formatBytes', () => {
  it('picks the largest whole unit', () => {
    expect(formatBytes(512 * 1024 ** 2)).toBe('512 MiB');
    expect(formatBytes(1024 ** 3)).toBe('1 GiB');
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.5 GiB');
    expect(formatBytes(2 * 1024 ** 4)).toBe('2 TiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(100)).toBe('100 B');
    expect(formatBytes(-5)).toBe('0 B');
  });

  it('rounds needs up and free amounts down, so a shortfall never reads as equal', () => {
    const justOver = 512 * 1024 ** 2 + 1;
    expect(formatBytes(justOver, 'up')).toBe('512.01 MiB');
    expect(formatBytes(justOver, 'down')).toBe('512 MiB');
    expect(formatBytes(1.1 * 1024 ** 3, 'up')).toBe('1.1 GiB');
  });
});

describe('formatCpu and listNames', () => {
  it('writes milli-CPU', () => {
    expect(formatCpu(1500)).toBe('1500m');
  });

  it('lists at most three names', () => {
    expect(listNames(['a'])).toBe('a');
    expect(listNames(['a', 'b', 'c'])).toBe('a, b, c');
    expect(listNames(['a', 'b', 'c', 'd', 'e'])).toBe('a, b, c and 2 more');
  });
});
