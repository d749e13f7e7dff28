// The microvm runtime driver: QEMU microvm everywhere, Firecracker on KVM hosts (STYLE.md §4).
export { QemuDriver, type QemuDriverOptions } from './qemu-driver.js';
export {
  FirecrackerDriver,
  type FirecrackerDriverOptions,
  type JailerOptions,
} from './firecracker-driver.js';

// Which backend a node runs under the one runtime name 'microvm'.
export { selectMicrovmBackend, type MicrovmSelection } from './select-backend.js';

// Guest kernel and initramfs (`shellwego kernel install`).
export { installKernel, currentKernel, type InstalledKernel, type KernelSource } from './kernel.js';

// Constants the agent may surface.
export { DRIVER_NAME, type Backend } from './state.js';
export { MAX_LOG_BYTES } from './logs.js';
export { DEFAULT_CONFIG_DRIVE_DIR } from './config-drive.js';
export { VOLUME_IMAGE_NAME, DEFAULT_VOLUME_BYTES } from './volumes.js';
