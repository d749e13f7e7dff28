import type { DriverFingerprint } from '@shellwego/driver-sdk';
import { FirecrackerDriver, type FirecrackerDriverOptions } from './firecracker-driver.js';
import { QemuDriver, type QemuDriverOptions } from './qemu-driver.js';

export interface MicrovmSelection {
  driver: QemuDriver | FirecrackerDriver;
  backend: 'qemu' | 'firecracker';
  /** Why Firecracker was not chosen, when it was not (for the node's attributes and logs). */
  firecrackerUnavailable: string | null;
}

/**
 * Both backends register as the one runtime 'microvm' (apps ask for `runtime: "microvm"`, not for a VMM); the
 * node picks one at agent start: Firecracker when its fingerprint is usable (KVM, binary, vmlinux), QEMU microvm
 * otherwise. `prefer` forces one. Handles record the backend that started them, and the other backend refuses
 * them with INVALID_HANDLE, so an agent restarting with a different choice does not mistake a VM for its own.
 */
export async function selectMicrovmBackend(opts: {
  qemu?: QemuDriverOptions;
  firecracker?: FirecrackerDriverOptions;
  prefer?: 'auto' | 'qemu' | 'firecracker';
}): Promise<MicrovmSelection> {
  const prefer = opts.prefer ?? 'auto';
  if (prefer === 'qemu')
    return { driver: new QemuDriver(opts.qemu), backend: 'qemu', firecrackerUnavailable: null };
  const fc = new FirecrackerDriver(opts.firecracker);
  const fp: DriverFingerprint = await fc.fingerprint();
  if (fp.usable || prefer === 'firecracker') {
    return {
      driver: fc,
      backend: 'firecracker',
      firecrackerUnavailable: fp.usable ? null : (fp.reason ?? 'unusable'),
    };
  }
  return {
    driver: new QemuDriver(opts.qemu),
    backend: 'qemu',
    firecrackerUnavailable: fp.reason ?? 'unusable',
  };
}
