import { cpuQuotaMicros, cpuShares } from '@shellwego/core';
import type { InstanceSpec } from '@shellwego/driver-sdk';

/** Where the secrets tmpfs appears inside the container. */
export const SECRETS_MOUNT = '/run/secrets';
const CPU_PERIOD_MICROS = 100_000;

// Same defaults as `runc spec` so a container here is no more privileged than one made by hand.
const defaultCaps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
const maskedPaths = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/proc/scsi',
];
const readonlyPaths = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface OciConfigInput {
  spec: InstanceSpec;
  /** Host path of the secrets tmpfs, bind-mounted read-only at SECRETS_MOUNT. */
  secretsDir: string;
  cgroupsPath: string;
  /** The container's root filesystem: absolute, or relative to the bundle; default `rootfs`. */
  rootPath?: string;
}

/** The runtime-spec config.json for one instance (reference/OCI.md §6). Pure: the bundle code writes it. */
export function buildOciConfig({
  spec,
  secretsDir,
  cgroupsPath,
  rootPath = 'rootfs',
}: OciConfigInput): Record<string, unknown> {
  const secretEnv = Object.entries(spec.secrets).map(([k, v]) => `${k}=${v}`);
  const secretKeys = new Set(Object.keys(spec.secrets));
  // Secrets win over image/app env of the same name, and appear once.
  const env = [...spec.process.env.filter((e) => !secretKeys.has(e.slice(0, e.indexOf('=')))), ...secretEnv];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false, // detached runs have no console socket
      user: { uid: spec.process.user.uid, gid: spec.process.user.gid, additionalGids: [] },
      args: spec.process.args,
      env,
      cwd: spec.process.cwd,
      capabilities: {
        bounding: defaultCaps,
        effective: defaultCaps,
        permitted: defaultCaps,
        ambient: defaultCaps,
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: rootPath, readonly: false },
    hostname: spec.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      {
        destination: '/dev/mqueue',
        type: 'mqueue',
        source: 'mqueue',
        options: ['nosuid', 'noexec', 'nodev'],
      },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: SECRETS_MOUNT,
        type: 'bind',
        source: secretsDir,
        options: ['rbind', 'ro', 'nosuid', 'noexec', 'nodev'],
      },
      // Volumes: directories of the node, bound where the app asked (after the image's own paths, so they win).
      ...(spec.volumes ?? []).map((v) => ({
        destination: v.target,
        type: 'bind',
        source: v.source,
        options: ['rbind', v.readOnly === true ? 'ro' : 'rw', 'nosuid', 'nodev'],
      })),
    ],
    linux: {
      namespaces: [
        { type: 'pid' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        // Without a path runc makes a fresh, empty namespace: no network rather than the host's.
        spec.netnsPath === undefined ? { type: 'network' } : { type: 'network', path: spec.netnsPath },
      ],
      cgroupsPath,
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        memory: { limit: spec.resources.memoryBytes },
        cpu: {
          shares: cpuShares(spec.resources.cpuMilli),
          quota: cpuQuotaMicros(spec.resources.cpuMilli, CPU_PERIOD_MICROS),
          period: CPU_PERIOD_MICROS,
        },
        pids: { limit: spec.resources.pidsLimit },
      },
      maskedPaths,
      readonlyPaths,
    },
  };
}
