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
    expect(instanceSpecSchema.parse(valid)).toEqual({ ...valid, volumes: [] });
  });
  it('takes a network, an artifact and volumes for the runtimes that need them, and checks their forms', () => {
    const full = {
      ...valid,
      network: { ip: '10.88.0.5', prefix: 16, gateway: '10.88.0.1', mac: '02:00:00:ab:cd:ef' },
      artifact: { path: '/a/app.wasm', digest: `sha256:${'a'.repeat(64)}` },
      volumes: [{ source: '/data/v1', target: '/data', readOnly: false }],
    };
    expect(instanceSpecSchema.parse(full)).toEqual(full);
    const bad = (over: object): boolean => instanceSpecSchema.safeParse({ ...full, ...over }).success;
    expect(bad({ network: { ...full.network, mac: '02:00:00:AB:CD' } })).toBe(false);
    expect(bad({ artifact: { path: '/a', digest: 'md5:x' } })).toBe(false);
    expect(bad({ volumes: [{ source: 'relative', target: '/d' }] })).toBe(false);
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
