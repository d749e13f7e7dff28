// Bundles the shellwego binary into one file (packages/cli/dist/shellwego.mjs), which is what the
// bin links point to. One minified module instead of ~950 loaded one by one keeps about 20 MiB out of
// an idle control plane (bench/README.md) and starts client commands faster. Runs after `tsc -b`.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The options of the shipped bundle; the bench builds its control-plane child with the same ones. */
export const bundleOptions = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  // For stack traces: node --enable-source-maps packages/cli/dist/shellwego.mjs …
  sourcemap: true,
  // Native or loaded by path at run time: they stay in node_modules.
  //  - better-sqlite3 loads a compiled .node file; pg-native is pg's optional native binding.
  //  - pino resolves its worker files by path; prom-client is required by deep path (http/metrics.ts).
  external: ['better-sqlite3', 'pg-native', 'pino', 'prom-client'],
  // Bundled CommonJS calls require(); an ES module has none, so give it one.
  banner: {
    js: "import { createRequire as __swgRequire } from 'node:module'; const require = __swgRequire(import.meta.url);",
  },
  logLevel: 'warning',
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await build({
    ...bundleOptions,
    entryPoints: ['packages/cli/dist/main.js'],
    outfile: 'packages/cli/dist/shellwego.mjs',
  });
}
