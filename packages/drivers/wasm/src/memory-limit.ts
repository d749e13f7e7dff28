/**
 * Caps a module's linear memory by rewriting its binary before it is compiled.
 *
 * Hand-written because neither V8 nor node:wasi can limit a module-defined memory from outside (the memory is created
 * by the module itself at instantiation), and no npm library rewrites a memory section's limits: wabt.js and
 * binaryen.js are large toolchains that re-encode the whole module. A memory section is a handful of LEB128 numbers,
 * so we re-encode that one section and copy every other byte through unchanged.
 *
 * With the maximum set to the cap, `memory.grow` past it returns -1 inside the module, as the spec requires, and
 * nothing outside ever allocates more than the cap for that memory.
 */

export const WASM_PAGE_BYTES = 65_536;
const MAX_PAGES_32 = 65_536;
const SECTION_IMPORT = 2;
const SECTION_MEMORY = 5;
const IMPORT_KIND_MEMORY = 2;

/** A module the driver will not run, with a sentence saying why. */
export class ModuleRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModuleRejectedError';
  }
}

export interface LimitedModule {
  bytes: Uint8Array;
  /** Pages the memory starts with: what every request instantiates at least. */
  initialPages: number;
  maxPages: number;
}

class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    pos = 0,
  ) {
    this.pos = pos;
  }
  byte(): number {
    const b = this.bytes[this.pos++];
    if (b === undefined) throw new ModuleRejectedError('module is truncated (unexpected end of the binary)');
    return b;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new ModuleRejectedError('module has a malformed LEB128 number');
    }
  }
  skip(n: number): void {
    if (this.pos + n > this.bytes.length) throw new ModuleRejectedError('module is truncated');
    this.pos += n;
  }
  skipLimits(): void {
    const flags = this.byte();
    this.u32();
    if (flags & 1) this.u32();
  }
}

function encodeU32(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Fails on an imported memory: only the module's own memory can be capped by rewriting its declaration. */
function checkImports(r: Reader, end: number): void {
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    r.skip(r.u32()); // module name
    r.skip(r.u32()); // field name
    const kind = r.byte();
    if (kind === 0) r.u32();
    else if (kind === 1) {
      r.byte();
      r.skipLimits();
    } else if (kind === IMPORT_KIND_MEMORY) {
      throw new ModuleRejectedError(
        'module imports its memory; only modules that define their own memory can run',
      );
    } else if (kind === 3) r.skip(2);
    else if (kind === 4) {
      r.byte();
      r.u32();
    } else throw new ModuleRejectedError(`module has an unknown import kind ${kind}`);
  }
  if (r.pos !== end) throw new ModuleRejectedError('module has a malformed import section');
}

/**
 * Returns the module with its memory's maximum set to at most `capBytes` (rounded down to whole 64 KiB pages).
 * Refuses a module whose declared minimum already exceeds the cap, shared or 64-bit memories, and imported memories.
 */
export function limitModuleMemory(input: Uint8Array, capBytes: number): LimitedModule {
  const capPages = Math.min(MAX_PAGES_32, Math.floor(capBytes / WASM_PAGE_BYTES));
  if (capPages < 1) throw new ModuleRejectedError(`memory limit ${capBytes} bytes is below one 64 KiB page`);
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (input.length < 8 || magic.some((b, i) => input[i] !== b))
    throw new ModuleRejectedError('not a WebAssembly binary module (bad magic number or version)');

  const r = new Reader(input, 8);
  let copiedUpTo = 0;
  let initialPages = 0;
  let maxPages = 0;
  const chunks: Uint8Array[] = [];
  while (r.pos < input.length) {
    const sectionStart = r.pos;
    const id = r.byte();
    const size = r.u32();
    const bodyStart = r.pos;
    const end = bodyStart + size;
    if (end > input.length)
      throw new ModuleRejectedError(`module section ${id} runs past the end of the binary`);
    if (id === SECTION_IMPORT) checkImports(r, end);
    if (id === SECTION_MEMORY) {
      const count = r.u32();
      if (count > 1) throw new ModuleRejectedError('module defines more than one memory');
      const body = [...encodeU32(count)];
      if (count === 1) {
        const flags = r.byte();
        if (flags > 1)
          throw new ModuleRejectedError(
            'module uses a shared or 64-bit memory, which this runtime does not run',
          );
        const min = r.u32();
        const declaredMax = flags === 1 ? r.u32() : MAX_PAGES_32;
        if (min > capPages) {
          throw new ModuleRejectedError(
            `module needs ${min} pages (${min * WASM_PAGE_BYTES} bytes) of memory at start, above the limit of ${capPages} pages (${capBytes} bytes)`,
          );
        }
        initialPages = min;
        maxPages = Math.min(declaredMax, capPages);
        body.push(0x01, ...encodeU32(min), ...encodeU32(maxPages));
      }
      if (r.pos !== end) throw new ModuleRejectedError('module has a malformed memory section');
      chunks.push(input.subarray(copiedUpTo, sectionStart));
      chunks.push(Uint8Array.from([id, ...encodeU32(body.length), ...body]));
      copiedUpTo = end;
    }
    r.pos = end;
  }
  chunks.push(input.subarray(copiedUpTo));
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return { bytes, initialPages, maxPages };
}
