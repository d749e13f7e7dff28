// The wasm runtime driver: WASI preview1 modules as WAGI-style HTTP functions, in one host process per node.
export { WasmDriver, type WasmDriverOptions } from './driver.js';

// The process roles (host, worker) for programs that ship the driver inside one bundle.
export { wasmEntry } from './wasm-entry.js';

// Limits, for callers that check a module or a request before deploying it.
export { limitModuleMemory, ModuleRejectedError, type LimitedModule } from './memory-limit.js';
export { MAX_BODY_BYTES, MAX_RESPONSE_BYTES } from './instance.js';
export { MAX_LOG_BYTES } from './logs.js';
