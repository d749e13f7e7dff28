import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceWireSpec } from '@shellwego/core';
import { instanceSpecSchema, type InstanceSpec, type VolumeMount } from '@shellwego/driver-sdk';
import { resolveProcess, resolveUser, type ImageStore, type StoredImage } from '@shellwego/registry';
import type { ArtifactCache } from './artifacts.js';

/** The part of the node's ImageStore the resolver uses. */
export type ImageSource = Pick<ImageStore, 'local' | 'pull' | 'imageConfig'>;

export interface ResolverOptions {
  images: ImageSource;
  /** Modules of wasm releases; without it the node cannot resolve wasm instances. */
  artifacts?: Pick<ArtifactCache, 'path' | 'emptyRoot'>;
  /** Where the driver writes each instance's log file. */
  logDir: string;
  /** The driver's own state: runtime root, per-instance bundles. */
  runtimeDir: string;
  /** Processes an instance may have; the wire spec does not say. Default 1024. */
  pidsLimit?: number;
  /** Where the node keeps the app volumes, one directory per volume id; without it, specs with volumes fail. */
  volumesDir?: string;
}

export interface ResolveHooks {
  /** Called before a pull (the slow part) when the image is not on the node yet. */
  onPull?(reference: string): void;
  /** Bytes of the pull so far over all layers, at most every PROGRESS_EVERY_MS (and once at the end). */
  onPullProgress?(reference: string, progress: PullProgress): void;
}

export interface PullProgress {
  done: number;
  total: number;
}

/** Pull progress reaches the control plane in status reports: a few a second is plenty for a progress line. */
const PROGRESS_EVERY_MS = 250;

interface Pull {
  promise: Promise<StoredImage>;
  /** Every instance waiting on this pull hears its progress, not only the one that started it. */
  listeners: Set<(progress: PullProgress) => void>;
}

/** Turns the control plane's node-independent wire spec into what a driver runs on this node. */
export interface SpecResolver {
  resolve(instanceId: string, wire: InstanceWireSpec, hooks?: ResolveHooks): Promise<InstanceSpec>;
}

const DEFAULT_PIDS_LIMIT = 1024;

/**
 * Resolves with the node's image store: an image already stored and unpacked is used without the network; others
 * are pulled once however many instances wait for them. The process is the image config merged with the app's env.
 */
export class Resolver implements SpecResolver {
  private readonly pulls = new Map<string, Pull>();

  constructor(private readonly opts: ResolverOptions) {}

  async resolve(instanceId: string, wire: InstanceWireSpec, hooks: ResolveHooks = {}): Promise<InstanceSpec> {
    if (wire.runtime === 'wasm') return this.resolveModule(instanceId, wire, hooks);
    const image = await this.image(wire.image, hooks);
    const config = await this.opts.images.imageConfig(image.digest);
    const proc = resolveProcess(config, { env: { ...wire.env, PORT: String(wire.port) } });
    const user = 'name' in proc.user ? await resolveUser(image.rootfs, proc.user.name) : proc.user;
    return instanceSpecSchema.parse({
      ...this.common(instanceId, wire),
      volumes: await this.volumes(wire, user),
      rootfs: image.rootfs,
      process: { args: proc.args, env: proc.env, cwd: proc.cwd, user: { uid: user.uid, gid: user.gid } },
    } satisfies InstanceSpec);
  }

  /** A wasm release names its module by digest; the process is the module with the app's env, in no filesystem. */
  private async resolveModule(
    instanceId: string,
    wire: InstanceWireSpec,
    hooks: ResolveHooks,
  ): Promise<InstanceSpec> {
    const artifacts = this.opts.artifacts;
    if (artifacts === undefined) throw new Error('this agent has no module store for wasm instances');
    hooks.onPull?.(wire.image);
    const path = await artifacts.path(wire.image);
    const env = { ...wire.env, PORT: String(wire.port) };
    return instanceSpecSchema.parse({
      ...this.common(instanceId, wire),
      volumes: await this.volumes(wire, { uid: 0, gid: 0 }),
      rootfs: await artifacts.emptyRoot(),
      artifact: { path, digest: wire.image },
      process: {
        args: ['app.wasm'],
        env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        cwd: '/',
        user: { uid: 0, gid: 0 },
      },
    } satisfies InstanceSpec);
  }

  /**
   * Each app volume as a directory of this node (`<volumesDir>/<volume id>`), made on first use and given to the
   * app's user, so an app that does not run as root can write to it. Its data stays when instances come and go.
   */
  private async volumes(wire: InstanceWireSpec, owner: { uid: number; gid: number }): Promise<VolumeMount[]> {
    const volumes = wire.volumes ?? [];
    if (volumes.length === 0) return [];
    const dir = this.opts.volumesDir;
    if (dir === undefined) throw new Error('this agent keeps no volumes (no volumes directory)');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const out: VolumeMount[] = [];
    for (const v of volumes) {
      if (!/^[A-Za-z0-9_-]+$/.test(v.id))
        throw new Error(`volume id ${JSON.stringify(v.id)} is not a plain name`);
      const source = join(dir, v.id);
      const made = await mkdir(source, { mode: 0o755 }).then(
        () => true,
        (e: unknown) => {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
          throw e;
        },
      );
      if (made) await chown(source, owner.uid, owner.gid);
      out.push({ source, target: v.mount_path, readOnly: false, sizeBytes: v.size_bytes });
    }
    return out;
  }

  /** What every runtime's spec holds whatever it runs. */
  private common(instanceId: string, wire: InstanceWireSpec): Omit<InstanceSpec, 'rootfs' | 'process'> {
    return {
      instanceId,
      appId: wire.app_id,
      hostname: hostnameOf(wire.app_name),
      resources: {
        memoryBytes: wire.resources.memory_bytes,
        cpuMilli: wire.resources.cpu_milli,
        pidsLimit: this.opts.pidsLimit ?? DEFAULT_PIDS_LIMIT,
      },
      secrets: wire.secrets,
      logDir: this.opts.logDir,
      stateDir: this.opts.runtimeDir,
    };
  }

  private async image(reference: string, hooks: ResolveHooks): Promise<StoredImage> {
    const local = await this.opts.images.local(reference);
    if (local !== undefined) return local;
    hooks.onPull?.(reference);
    let pulling = this.pulls.get(reference);
    if (pulling === undefined) {
      const listeners = new Set<(progress: PullProgress) => void>();
      const layers = new Map<string, PullProgress>();
      let last = 0;
      const promise = this.opts.images
        .pull(reference, {
          onProgress: (e) => {
            layers.set(e.digest, { done: e.done, total: e.total });
            const now = Date.now();
            const finished = [...layers.values()].every((l) => l.done >= l.total);
            if (now - last < PROGRESS_EVERY_MS && !finished) return;
            last = now;
            let done = 0;
            let total = 0;
            for (const l of layers.values()) {
              done += l.done;
              total += l.total;
            }
            for (const listener of listeners) listener({ done, total });
          },
        })
        .finally(() => this.pulls.delete(reference));
      pulling = { promise, listeners };
      this.pulls.set(reference, pulling);
    }
    if (hooks.onPullProgress !== undefined)
      pulling.listeners.add((p) => hooks.onPullProgress?.(reference, p));
    return pulling.promise;
  }
}

/** The app's name as a host name: at most 63 characters, not ending in a hyphen once cut. */
function hostnameOf(appName: string): string {
  return appName.slice(0, 63).replace(/-+$/, '') || 'app';
}
