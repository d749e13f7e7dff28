import { describe, expect, it } from 'vitest';
import { DriverError } from './errors.js';
import { instanceSpecSchema } from './spec.js';

const valid = {
  instanceId: 'inst_1',
  appId: 'app_1',
  rootfs: '/images/x/rootfs',
  process: { args: ['/bin/sh'], env: ['A=1'], cwd: '/', user: { uid: 0, gid: 0 } },
  hostname: 'h',
  resources: { memoryBytes: 1024, cpuMilli: 100, pidsLimit: 10 },
  secrets: { DB_URL: 'x' },
  logDir: '/l',
  stateDir: '/s',
};

describe('instanceSpecSchema', () => {
  it('accepts a complete spec', () => {
    expect(instanceSpecSchema.parse(valid)).toEqual(valid);
  });
  it('rejects env without =, relative cwd and path-like ids', () => {
    expect(
      instanceSpecSchema.safeParse({ ...valid, process: { ...valid.process, env: ['A'] } }).success,
    ).toBe(false);
    expect(instanceSpecSchema.safeParse({ ...valid, process: { ...valid.process, cwd: 'x' } }).success).toBe(
      false,
    );
    expect(instanceSpecSchema.safeParse({ ...valid, instanceId: '../x' }).success).toBe(false);
  });
});

describe('DriverError', () => {
  it('carries code, driver and retryability', () => {
    const e = new DriverError('runc', 'START_FAILED', 'boom');
    expect(e).toMatchObject({ code: 'START_FAILED', driver: 'runc', retryable: true, message: 'runc: boom' });
    expect(new DriverError('runc', 'INVALID_SPEC', 'x').retryable).toBe(false);
  });
});
