import type {} from './webassembly-types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { limitModuleMemory, WASM_PAGE_BYTES } from './memory-limit.js';
import { bigMemoryWat, buildModule, memoryBombWat } from './test-modules.js';

let dir = '';
beforeAll(async () => {
  dir = await makeTempDir('swg-wasm-mem-');
});
afterAll(async () => {
  await removeDir(dir);
});

const memoryOf = (bytes: Uint8Array): WebAssembly.Memory => {
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    wasi_snapshot_preview1: new Proxy({}, { get: () => () => 0 }),
  }).exports;
  return exports.memory as WebAssembly.Memory;
};

describe('limitModuleMemory', () => {
  it('sets the memory maximum to the cap, so memory.grow past it fails', async () => {
    const m = await buildModule(dir, 'bomb', memoryBombWat);
    const limited = limitModuleMemory(m.bytes, 4 * WASM_PAGE_BYTES);
    expect(limited).toMatchObject({ initialPages: 1, maxPages: 4 });
    const memory = memoryOf(limited.bytes);
    expect(memory.grow(3)).toBe(1);
    expect(() => memory.grow(1)).toThrow(RangeError); // from JS it throws; inside the module it returns -1
  });

  it('keeps a smaller declared maximum', async () => {
    const m = await buildModule(
      dir,
      'small',
      `(module (memory (export "memory") 1 2) (func (export "_start")))`,
    );
    expect(limitModuleMemory(m.bytes, 64 * WASM_PAGE_BYTES).maxPages).toBe(2);
  });

  it('refuses a module whose initial memory is above the cap, naming both', async () => {
    const m = await buildModule(dir, 'big', bigMemoryWat(100));
    expect(() => limitModuleMemory(m.bytes, 16 * WASM_PAGE_BYTES)).toThrow(
      /needs 100 pages .* limit of 16 pages/,
    );
  });

  it('refuses imported memories and things that are not modules', async () => {
    const m = await buildModule(
      dir,
      'imported',
      `(module (import "env" "memory" (memory 1)) (func (export "_start")))`,
    );
    expect(() => limitModuleMemory(m.bytes, 1 << 20)).toThrow(/imports its memory/);
    expect(() => limitModuleMemory(Buffer.from('not wasm at all'), 1 << 20)).toThrow(
      /not a WebAssembly binary/,
    );
    const own = await buildModule(dir, 'own', bigMemoryWat(1));
    expect(() => limitModuleMemory(own.bytes.subarray(0, own.bytes.length - 3), 1 << 20)).toThrow(
      /truncated|past the end/,
    );
  });

  it('leaves a module without memory unchanged', async () => {
    const m = await buildModule(dir, 'nomem', `(module (func (export "_start")))`);
    expect(Buffer.from(limitModuleMemory(m.bytes, 1 << 20).bytes).equals(m.bytes)).toBe(true);
  });
});
