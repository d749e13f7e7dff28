// The slice of the WebAssembly JS API this package uses. TypeScript declares it only in lib.dom, which the
// repository does not load for Node packages; importing this file (`import type {} from './webassembly-types.js'`)
// declares just these globals, as in lib.dom.d.ts.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- the global WebAssembly API is a namespace
  namespace WebAssembly {
    type ImportExportKind = 'function' | 'global' | 'memory' | 'table' | 'tag';
    interface ModuleImportDescriptor {
      module: string;
      name: string;
      kind: ImportExportKind;
    }
    interface ModuleExportDescriptor {
      name: string;
      kind: ImportExportKind;
    }
    type Imports = Record<string, Record<string, unknown>>;
    class Module {
      constructor(bytes: BufferSource);
      static imports(module: Module): ModuleImportDescriptor[];
      static exports(module: Module): ModuleExportDescriptor[];
    }
    class Instance {
      constructor(module: Module, imports?: Imports);
      readonly exports: Record<string, unknown>;
    }
    class Memory {
      constructor(descriptor: { initial: number; maximum?: number });
      readonly buffer: ArrayBuffer;
      grow(delta: number): number;
    }
    class RuntimeError extends Error {}
    class CompileError extends Error {}
    class LinkError extends Error {}
    function compile(bytes: BufferSource): Promise<Module>;
  }
  type BufferSource = ArrayBufferView | ArrayBuffer;
}

export {};
