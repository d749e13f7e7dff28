import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

// Test modules in the WebAssembly text format, assembled with Debian's wat2wasm (wabt).

const WASI = 'wasi_snapshot_preview1';

/** Imports and helpers every test module shares: $write(fd, ptr, len) and $print(ptr, len) to stdout. */
const prelude = `
  (import "${WASI}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "${WASI}" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "${WASI}" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "${WASI}" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "${WASI}" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "${WASI}" "proc_exit" (func $proc_exit (param i32)))
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 16) (local.get $ptr))
    (i32.store (i32.const 20) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 24))))
  ;; Writes a number in decimal at 48..63 and prints it.
  (func $print_num (param $n i32) (local $p i32)
    (local.set $p (i32.const 64))
    (loop $digits
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digits (i32.ne (local.get $n) (i32.const 0))))
    (call $write (i32.const 1) (local.get $p) (i32.sub (i32.const 64) (local.get $p))))
`;

const text = (offset: number, s: string): string =>
  `(data (i32.const ${offset}) "${s.replace(/"/g, '\\"')}")`;
const HEADER = 'Content-Type: text/plain\\n\\n'; // 26 bytes once assembled

/** Answers "hello from wasm". `stderrLine`, when given, is also written to stderr (to reach the instance log). */
export function helloWat(stderrLine?: string): string {
  const err = stderrLine === undefined ? '' : `${stderrLine}\\n`;
  const errLen = stderrLine === undefined ? 0 : Buffer.byteLength(stderrLine) + 1;
  return `(module ${prelude}
  (memory (export "memory") 1)
  ${text(256, `${HEADER}hello from wasm\\n`)}
  ${text(512, err)}
  (func (export "_start")
    (call $write (i32.const 2) (i32.const 512) (i32.const ${errLen}))
    (call $write (i32.const 1) (i32.const 256) (i32.const 42))))`;
}

/** Prints every environment variable, one per line, then echoes the request body. */
export const echoWat = `(module ${prelude}
  (memory (export "memory") 4)
  ${text(256, HEADER)}
  (func (export "_start") (local $size i32) (local $i i32) (local $n i32)
    (call $write (i32.const 1) (i32.const 256) (i32.const 26))
    ;; count at 32, buffer size at 36; pointers at 1024, strings at 8192 (< 64 KiB)
    (drop (call $environ_sizes_get (i32.const 32) (i32.const 36)))
    (drop (call $environ_get (i32.const 1024) (i32.const 8192)))
    (local.set $size (i32.load (i32.const 36)))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $size)))
      (if (i32.eqz (i32.load8_u (i32.add (i32.const 8192) (local.get $i))))
        (then (i32.store8 (i32.add (i32.const 8192) (local.get $i)) (i32.const 10))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
    (call $write (i32.const 1) (i32.const 8192) (local.get $size))
    ;; the body, through stdin, in 64 KiB reads at 131072
    (block $eof (loop $read
      (i32.store (i32.const 40) (i32.const 131072))
      (i32.store (i32.const 44) (i32.const 65536))
      (drop (call $fd_read (i32.const 0) (i32.const 40) (i32.const 1) (i32.const 48)))
      (local.set $n (i32.load (i32.const 48)))
      (br_if $eof (i32.eqz (local.get $n)))
      (call $write (i32.const 1) (i32.const 131072) (local.get $n))
      (br $read)))))`;

/** Counts its runs in a global and in memory and answers "global=<n> memory=<n>": 1 and 1 in a fresh instance. */
export const counterWat = `(module ${prelude}
  (memory (export "memory") 1)
  (global $runs (mut i32) (i32.const 0))
  ${text(256, `${HEADER}global=`)}
  ${text(300, ' memory=')}
  (func (export "_start")
    (global.set $runs (i32.add (global.get $runs) (i32.const 1)))
    (i32.store (i32.const 1000) (i32.add (i32.load (i32.const 1000)) (i32.const 1)))
    (call $write (i32.const 1) (i32.const 256) (i32.const 33))
    (call $print_num (global.get $runs))
    (call $write (i32.const 1) (i32.const 300) (i32.const 8))
    (call $print_num (i32.load (i32.const 1000)))))`;

/** Never returns. */
export const loopWat = `(module ${prelude}
  (memory (export "memory") 1)
  (func (export "_start") (loop $forever (br $forever))))`;

/** Writes `line` to stderr on every request; loops forever when the request has a body, else answers 200. */
export function logThenMaybeLoopWat(line: string): string {
  return `(module ${prelude}
  (memory (export "memory") 1)
  ${text(256, `${HEADER}ok\\n`)}
  ${text(512, `${line}\\n`)}
  (func (export "_start")
    (call $write (i32.const 2) (i32.const 512) (i32.const ${Buffer.byteLength(line) + 1}))
    (i32.store (i32.const 40) (i32.const 1024))
    (i32.store (i32.const 44) (i32.const 16))
    (drop (call $fd_read (i32.const 0) (i32.const 40) (i32.const 1) (i32.const 48)))
    (if (i32.ne (i32.load (i32.const 48)) (i32.const 0)) (then (loop $forever (br $forever))))
    (call $write (i32.const 1) (i32.const 256) (i32.const 29))))`;
}

/** Grows memory one page at a time until memory.grow says -1, then answers "pages=<total>". */
export const memoryBombWat = `(module ${prelude}
  (memory (export "memory") 1)
  ${text(256, `${HEADER}pages=`)}
  (func (export "_start")
    (block $refused (loop $grow
      (br_if $refused (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
      (br $grow)))
    (call $write (i32.const 1) (i32.const 256) (i32.const 32))
    (call $print_num (memory.size))))`;

/** Declares `pages` pages of memory up front. */
export function bigMemoryWat(pages: number): string {
  return `(module ${prelude} (memory (export "memory") ${pages}) (func (export "_start")))`;
}

/** Traps with `unreachable`. */
export const trapWat = `(module ${prelude}
  (memory (export "memory") 1)
  (func (export "_start") unreachable))`;

/** Exits with status 3 without writing anything. */
export const exitWat = `(module ${prelude}
  (memory (export "memory") 1)
  (func (export "_start") (call $proc_exit (i32.const 3))))`;

/**
 * Opens `path` relative to fd `dirFd` (3 is the first preopen, if any) and answers its content, or "errno=<n>".
 */
export function readFileWat(dirFd: number, path: string): string {
  return `(module ${prelude}
  (memory (export "memory") 2)
  ${text(256, HEADER)}
  ${text(300, 'errno=')}
  ${text(1024, path)}
  (func (export "_start") (local $err i32) (local $n i32)
    (call $write (i32.const 1) (i32.const 256) (i32.const 26))
    ;; rights: fd_read (2); opened fd at 60
    (local.set $err (call $path_open (i32.const ${dirFd}) (i32.const 0) (i32.const 1024)
      (i32.const ${Buffer.byteLength(path)}) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 60)))
    (if (i32.ne (local.get $err) (i32.const 0))
      (then (call $write (i32.const 1) (i32.const 300) (i32.const 6)) (call $print_num (local.get $err)) (return)))
    (i32.store (i32.const 40) (i32.const 65536))
    (i32.store (i32.const 44) (i32.const 65536))
    (drop (call $fd_read (i32.load (i32.const 60)) (i32.const 40) (i32.const 1) (i32.const 48)))
    (call $write (i32.const 1) (i32.const 65536) (i32.load (i32.const 48)))))`;
}

export interface BuiltModule {
  path: string;
  digest: string;
  bytes: Buffer;
}

/** Assembles `wat` into `<dir>/<name>.wasm` with wat2wasm and returns its path and sha256 digest. */
export async function buildModule(dir: string, name: string, wat: string): Promise<BuiltModule> {
  const work = await mkdtemp(join(tmpdir(), 'swg-wat-'));
  try {
    const src = join(work, `${name}.wat`);
    const path = join(dir, `${name}.wasm`);
    await writeFile(src, wat);
    await promisify(execFile)('wat2wasm', [src, '-o', path]);
    const bytes = await readFile(path);
    return { path, bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
