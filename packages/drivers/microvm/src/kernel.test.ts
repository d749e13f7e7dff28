import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { currentKernel, installKernel } from './kernel.js';
import { mustRun } from './run-tool.js';
import { TEST_KERNEL_DIR } from './test-harness.js';

// The first run on a machine downloads Debian's cloud kernel (apt-get download); later runs reuse the cache.
describe('installKernel (Debian cloud kernel)', () => {
  it('installs once, then returns the same kernel', async () => {
    const first = await installKernel({ dir: TEST_KERNEL_DIR });
    const again = await installKernel({ dir: TEST_KERNEL_DIR });
    expect(again).toEqual(first);
    expect(await currentKernel(TEST_KERNEL_DIR)).toEqual(first);
    // The PVH vmlinux is an ELF image; the initramfs holds /init, busybox and the virtio modules in load order.
    expect((await readFile(first.kernel)).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    const list = await mustRun('/bin/sh', ['-c', `zcat ${first.initramfs} | cpio -t --quiet`]);
    expect(list).toMatch(/^init$/m);
    expect(list).toMatch(/^bin\/busybox$/m);
    const order = first.modules.map((m) => m.split('/').pop());
    expect(order.indexOf('virtio.ko')).toBeLessThan(order.indexOf('virtio_mmio.ko'));
    expect(order.indexOf('virtio_mmio.ko')).toBeLessThan(order.indexOf('virtio_blk.ko'));
    expect(order).toContain('virtio_net.ko');
  }, 300_000);

  it('refuses a vmlinux that is not an uncompressed ELF', async () => {
    await expect(
      installKernel({ dir: '/tmp', source: { kind: 'vmlinux', from: '/etc/hostname' } }),
    ).rejects.toThrow(/not an uncompressed ELF/);
  });
});
