import { Client } from 'undici';

/** A failed API call, with Firecracker's fault_message. */
export class FirecrackerApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly fault: string,
  ) {
    super(`Firecracker ${method} ${path} answered ${status}: ${fault}`);
    this.name = 'FirecrackerApiError';
  }
}

type Body = Record<string, unknown>;

/**
 * Firecracker's HTTP API over its unix socket (undici). Bodies go out as JSON strings, so undici sends a
 * Content-Length: Firecracker's micro-http ignores chunked bodies. One request at a time, each answered after the
 * VMM applied it (FIRECRACKER.md).
 */
export class FirecrackerApi {
  private readonly client: Client;

  constructor(readonly socketPath: string) {
    this.client = new Client('http://localhost', { socketPath, pipelining: 1 });
  }

  async call(method: 'GET' | 'PUT' | 'PATCH', path: string, body?: unknown): Promise<unknown> {
    const res = await this.client.request({
      method,
      path,
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) {
      let fault = text;
      try {
        fault = (JSON.parse(text) as { fault_message?: string }).fault_message ?? text;
      } catch {
        // not JSON: keep the raw text
      }
      throw new FirecrackerApiError(method, path, res.statusCode, fault);
    }
    return text === '' ? null : (JSON.parse(text) as unknown);
  }

  put(path: string, body: Body): Promise<unknown> {
    return this.call('PUT', path, body);
  }

  patch(path: string, body: Body): Promise<unknown> {
    return this.call('PATCH', path, body);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** What the driver boots: paths as the VMM sees them (inside the jail when there is one). */
export interface BootPlan {
  kernel: string;
  initramfs: string;
  bootArgs: string;
  vcpus: number;
  memoryMiB: number;
  rootImage: string;
  configDrive: string;
  /** Volume images, attached after the config drive as drives vol0, vol1, … */
  volumes: { path: string; readOnly: boolean }[];
  nic: { tap: string; mac: string } | null;
  /** MMDS V2 contents (config and secrets for apps that read them from 169.254.169.254). */
  metadata: Body;
}

/**
 * The pre-boot sequence then InstanceStart, in the order Firecracker requires (MMDS config after the interface it
 * names). Drive ids use no hyphens: Firecracker only accepts [A-Za-z0-9_].
 */
export async function bootVm(api: FirecrackerApi, p: BootPlan): Promise<void> {
  await api.put('/boot-source', {
    kernel_image_path: p.kernel,
    initrd_path: p.initramfs,
    boot_args: p.bootArgs,
  });
  await api.put('/machine-config', { vcpu_count: p.vcpus, mem_size_mib: p.memoryMiB, smt: false });
  // Not a root device: the initramfs init finds the root by content, and Firecracker would append root=/dev/vda.
  await api.put('/drives/rootfs', {
    drive_id: 'rootfs',
    path_on_host: p.rootImage,
    is_root_device: false,
    is_read_only: false,
  });
  await api.put('/drives/config', {
    drive_id: 'config',
    path_on_host: p.configDrive,
    is_root_device: false,
    is_read_only: true,
  });
  for (const [i, v] of p.volumes.entries()) {
    // Writeback: the guest's flushes become fsyncs of the image (the default, Unsafe, ignores them).
    await api.put(`/drives/vol${i}`, {
      drive_id: `vol${i}`,
      path_on_host: v.path,
      is_root_device: false,
      is_read_only: v.readOnly,
      cache_type: 'Writeback',
    });
  }
  if (p.nic !== null) {
    await api.put('/network-interfaces/eth0', {
      iface_id: 'eth0',
      host_dev_name: p.nic.tap,
      guest_mac: p.nic.mac,
    });
    await api.put('/mmds/config', {
      version: 'V2',
      network_interfaces: ['eth0'],
      ipv4_address: '169.254.169.254',
    });
  }
  await api.put('/mmds', p.metadata);
  await api.put('/actions', { action_type: 'InstanceStart' });
}

export const pauseVm = (api: FirecrackerApi): Promise<unknown> => api.patch('/vm', { state: 'Paused' });
export const resumeVm = (api: FirecrackerApi): Promise<unknown> => api.patch('/vm', { state: 'Resumed' });

/** A full snapshot of a paused VM (disks are not part of it: the caller copies them). */
export async function createSnapshot(
  api: FirecrackerApi,
  snapshotPath: string,
  memPath: string,
): Promise<void> {
  await api.put('/snapshot/create', {
    snapshot_type: 'Full',
    snapshot_path: snapshotPath,
    mem_file_path: memPath,
  });
}

/** Loads a snapshot into a fresh Firecracker process and resumes it; MMDS data is not in snapshots, so re-PUT it. */
export async function loadSnapshot(
  api: FirecrackerApi,
  s: { snapshotPath: string; memPath: string; tap: string | null; metadata: Body },
): Promise<void> {
  await api.put('/snapshot/load', {
    snapshot_path: s.snapshotPath,
    mem_backend: { backend_type: 'File', backend_path: s.memPath },
    resume_vm: true,
    ...(s.tap === null ? {} : { network_overrides: [{ iface_id: 'eth0', host_dev_name: s.tap }] }),
  });
  await api.put('/mmds', s.metadata);
}
