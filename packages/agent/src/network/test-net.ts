// Test helpers for real network tests: unique names, a subnet the host does not use, and cleanup that runs even
// when a test or the whole run dies. Everything here touches only names that start with the run's own prefix.
import { execFileSync, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { randomInt } from 'node:crypto';
import { onExitCleanup } from '@shellwego/testkit';
import { overlaps, parseCidr, parseRouteDst } from './cidr.js';
import { ip, run } from './exec.js';
import { listLinks, listNamespaces, removeLink, removeNamespace } from './links.js';

export const isRoot = process.getuid?.() === 0;

/** `sw` + 4 random base36 characters, checked against the host's links and namespaces. */
export async function uniquePrefix(): Promise<string> {
  const taken = [...(await listLinks()), ...(await listNamespaces())];
  for (;;) {
    const prefix = `sw${randomInt(36 ** 4)
      .toString(36)
      .padStart(4, '0')}`;
    if (!taken.some((n) => n.startsWith(prefix))) return prefix;
  }
}

/** A random 10.213.N.0/24 that overlaps no route of the host, in any table. */
export async function freeSubnet(): Promise<string> {
  const routes = JSON.parse(await ip('-4', '-j', 'route', 'show', 'table', 'all')) as { dst: string }[];
  const dsts = routes.map((r) => parseRouteDst(r.dst)).filter((d) => d !== undefined);
  for (let tries = 0; tries < 100; tries++) {
    const cidr = `10.213.${randomInt(256)}.0/24`;
    if (!dsts.some((d) => overlaps(d, parseCidr(cidr)))) return cidr;
  }
  throw new Error('no free /24 in 10.213.0.0/16');
}

/** Everything on the host whose name starts with `prefix`. */
export async function ownedBy(prefix: string): Promise<{ links: string[]; namespaces: string[] }> {
  const [links, namespaces] = await Promise.all([listLinks(), listNamespaces()]);
  return {
    links: links.filter((n) => n.startsWith(prefix)),
    namespaces: namespaces.filter((n) => n.startsWith(prefix)),
  };
}

/** Removes every namespace and link whose name starts with `prefix`: namespaces first, taking their veths along. */
export async function removeOwned(prefix: string): Promise<void> {
  const { namespaces } = await ownedBy(prefix);
  for (const ns of namespaces) await removeNamespace(ns);
  for (const link of (await ownedBy(prefix)).links) await removeLink(link);
}

/** The same as removeOwned, synchronously, for the exit hook (nothing asynchronous runs after 'exit'). */
export function registerExitCleanup(prefix: string): () => void {
  return onExitCleanup(() => {
    const sh = (...args: string[]): string =>
      execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const nsOut = sh('-j', 'netns', 'list').trim();
    for (const { name } of (nsOut === '' ? [] : JSON.parse(nsOut)) as { name: string }[]) {
      if (name.startsWith(prefix)) sh('netns', 'del', name);
    }
    for (const { ifname } of JSON.parse(sh('-j', 'link', 'show')) as { ifname: string }[]) {
      if (ifname.startsWith(prefix)) sh('link', 'del', ifname);
    }
  });
}

const serverScript = `require('node:net').createServer((s) => s.end('hello from ' + process.argv[1]))
  .listen(Number(process.argv[2]), process.argv[1], () => console.log('ready'));`;
const clientScript = `const s = require('node:net').connect(Number(process.argv[2]), process.argv[1]);
  let out = ''; s.on('data', (d) => (out += d)); s.on('end', () => console.log(out));
  s.on('error', (e) => { console.error(e.message); process.exit(1); }); s.setTimeout(2000, () => process.exit(2));`;

/** A TCP server inside namespace `ns` answering "hello from <ip>"; TCP rather than ping, which this host lacks. */
export async function serveInNamespace(
  ns: string,
  addr: string,
  port: number,
): Promise<{ close: () => void }> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', serverScript, addr, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = onExitCleanup(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server in ${ns} exited with ${code}`)));
  });
  return {
    close: () => {
      child.kill('SIGKILL');
      stop();
    },
  };
}

/** Connects from inside namespace `ns` and returns what the server said. */
export async function readFromNamespace(ns: string, addr: string, port: number): Promise<string> {
  return (
    await run('ip', ['netns', 'exec', ns, process.execPath, '-e', clientScript, addr, String(port)])
  ).trim();
}

/** Connects from the host, after the guard that the route to `addr` goes out through our own bridge. */
export async function readFromHost(bridge: string, addr: string, port: number): Promise<string> {
  const route = await ip('route', 'get', addr);
  if (!new RegExp(`\\bdev ${bridge}\\b`).test(route))
    throw new Error(`refusing to send to ${addr}: route is ${route.trim()}`);
  return new Promise((resolve, reject) => {
    const s = connect(port, addr);
    let out = '';
    s.setTimeout(2000, () => s.destroy(new Error(`timeout connecting to ${addr}:${port}`)));
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}
