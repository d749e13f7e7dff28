import { describe, expect, it } from 'vitest';
import { buildOciConfig } from './oci-config.js';

const spec = {
  instanceId: 'i1',
  appId: 'a1',
  rootfs: '/img',
  process: {
    args: ['/bin/app'],
    env: ['PATH=/bin', 'TOKEN=old'],
    cwd: '/srv',
    user: { uid: 1000, gid: 1000 },
  },
  hostname: 'web-1',
  resources: { memoryBytes: 256 * 1024 * 1024, cpuMilli: 500, pidsLimit: 128 },
  secrets: { TOKEN: 'new' },
  logDir: '/logs',
  stateDir: '/state',
};

describe('buildOciConfig', () => {
  it('maps process, limits and a fresh network namespace', () => {
    const c = buildOciConfig({ spec, secretsDir: '/b/secrets', cgroupsPath: '/i1' }) as {
      process: { terminal: boolean; env: string[]; cwd: string; user: { uid: number } };
      hostname: string;
      linux: { namespaces: { type: string; path?: string }[]; resources: Record<string, unknown> };
    };
    expect(c.process.terminal).toBe(false);
    expect(c.process.env).toEqual(['PATH=/bin', 'TOKEN=new']);
    expect(c.process.cwd).toBe('/srv');
    expect(c.process.user.uid).toBe(1000);
    expect(c.hostname).toBe('web-1');
    expect(c.linux.namespaces).toContainEqual({ type: 'network' });
    expect(c.linux.resources).toMatchObject({
      memory: { limit: 268435456 },
      cpu: { shares: 512, quota: 50000, period: 100000 },
      pids: { limit: 128 },
    });
  });

  it('joins the given network namespace', () => {
    const c = buildOciConfig({
      spec: { ...spec, netnsPath: '/var/run/netns/x' },
      secretsDir: '/s',
      cgroupsPath: '/i1',
    }) as {
      linux: { namespaces: { type: string; path?: string }[] };
    };
    expect(c.linux.namespaces).toContainEqual({ type: 'network', path: '/var/run/netns/x' });
  });
});
