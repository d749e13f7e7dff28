// The default `entry` of WasmDriver: the host process and its worker threads start from this file.
import { wasmEntry } from './wasm-entry.js';

await wasmEntry(process.argv.slice(2));
