// The `shellwego` command line, importable for tools that embed it (main.ts is the binary).
export { run, buildProgram } from './program.js';
export type { Io } from './io.js';
export { banner } from './commands/up.js';
