import type {} from './webassembly-types.js';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { limitModuleMemory, ModuleRejectedError } from './memory-limit.js';

export interface CachedModule {
  readonly key: string;
  readonly module: WebAssembly.Module;
  /** Size of the module binary: what stats count for an idle instance. */
  readonly byteLength: number;
  readonly initialPages: number;
  readonly maxPages: number;
}

const SYNC_COMPILE_MAX_BYTES = 64 * 1024;

interface Entry {
  compiled: Promise<CachedModule>;
  refs: number;
}

/**
 * Compiled modules by digest and memory cap (the cap is written into the binary, so two caps are two modules).
 * Only the first start of a digest compiles; entries are dropped when the last instance using them is gone.
 */
export class ModuleCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly wasiImportNames: ReadonlySet<string>) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Reads the module, checks its sha256 against `digest` (always: the cache is keyed by digest, so a changed file
   * must not reuse the old entry), and returns the compiled module. Callers pair it with release().
   */
  async acquire(path: string, digest: string, capBytes: number): Promise<CachedModule> {
    const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
      throw new ModuleRejectedError(`cannot read module ${path}: ${e.code ?? e.message}`);
    });
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== digest)
      throw new ModuleRejectedError(`module ${path} has digest ${actual}, but the spec expects ${digest}`);
    const key = `${digest}@${capBytes}`;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { compiled: this.compile(key, bytes, capBytes), refs: 0 };
      this.entries.set(key, entry);
      const e = entry;
      e.compiled.catch(() => {
        if (this.entries.get(key) === e) this.entries.delete(key);
      });
    }
    entry.refs++;
    try {
      return await entry.compiled;
    } catch (e) {
      entry.refs--;
      throw e;
    }
  }

  release(m: CachedModule): void {
    const entry = this.entries.get(m.key);
    if (entry === undefined) return;
    entry.refs--;
    if (entry.refs <= 0) this.entries.delete(m.key);
  }

  private async compile(key: string, bytes: Uint8Array, capBytes: number): Promise<CachedModule> {
    const limited = limitModuleMemory(bytes, capBytes);
    let module: WebAssembly.Module;
    try {
      // Small modules compile faster in place than through V8's background compile (a thread hop, which costs
      // milliseconds on a busy node); big ones go to the background so the host's event loop keeps serving.
      module =
        limited.bytes.length <= SYNC_COMPILE_MAX_BYTES
          ? new WebAssembly.Module(limited.bytes)
          : await WebAssembly.compile(limited.bytes);
    } catch (e) {
      throw new ModuleRejectedError(`module does not compile: ${(e as Error).message}`);
    }
    for (const imp of WebAssembly.Module.imports(module)) {
      if (imp.module !== 'wasi_snapshot_preview1' || !this.wasiImportNames.has(imp.name))
        throw new ModuleRejectedError(
          `module imports ${imp.module}.${imp.name}; only WASI preview1 (wasi_snapshot_preview1) functions are provided`,
        );
    }
    const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
    if (exports.get('_start') !== 'function')
      throw new ModuleRejectedError(
        'module exports no _start function: build it as a WASI command (not a reactor)',
      );
    if (exports.get('memory') !== 'memory')
      throw new ModuleRejectedError('module exports no memory named "memory", which WASI needs');
    return {
      key,
      module,
      byteLength: bytes.length,
      initialPages: limited.initialPages,
      maxPages: limited.maxPages,
    };
  }
}
