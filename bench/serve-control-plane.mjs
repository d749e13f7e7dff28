// The control plane under test, in its own process so that it does not share an event loop with
// the load generator. Usage: node --expose-gc bench/serve-control-plane.mjs <data dir>
// Prints one JSON line {bench: 'ready', url, email, password} (the throwaway first admin of a fresh
// store; null on a restart) and answers the parent's IPC probes (see lib/probe.mjs).
import { startControlPlane } from '@shellwego/control-plane';
import { announceReady, answerProbes } from './lib/probe.mjs';

const dataDir = process.argv[2];
if (!dataDir) {
  console.error('usage: node --expose-gc bench/serve-control-plane.mjs <data dir>');
  process.exit(2);
}

const cp = await startControlPlane({
  dataDir,
  port: 0,
  host: '127.0.0.1',
  logLevel: 'warn',
  // Off: the load below comes from one token, and the point is what the server can do.
  rateLimit: null,
});
answerProbes(() => cp.close());
// On a data dir that already has a store (a restart), there is no first admin to print.
announceReady({
  url: cp.url,
  email: cp.firstAdmin?.email ?? null,
  password: cp.firstAdmin?.password ?? null,
});
