import { randomBytes } from 'node:crypto';
import type { InstanceNetwork } from '@shellwego/driver-sdk';
import { mustRun, runTool } from './run-tool.js';

/** Fixed names: the namespace belongs to one instance, so they cannot clash. */
export const TAP = 'swgtap0';
export const BRIDGE = 'swgbr0';

/** The agent's veth end as it was before we bridged it, so stop can hand the namespace back unchanged. */
export type VethConfig = {
  ifname: string;
  mac: string;
  ip: string;
  prefix: number;
  gateway: string | null;
};

const ipIn = (nsPath: string, ...args: string[]): Promise<string> =>
  mustRun('nsenter', [`--net=${nsPath}`, '--', 'ip', ...args]);

interface IpAddrJson {
  ifname: string;
  address?: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** The interface in the namespace holding `ip` (or, without `ip`, the first with an IPv4 address besides lo). */
export async function findVeth(nsPath: string, ip?: string): Promise<VethConfig | null> {
  const links = JSON.parse(await ipIn(nsPath, '-j', 'addr', 'show')) as IpAddrJson[];
  const routes = JSON.parse(await ipIn(nsPath, '-j', 'route', 'show', 'default')) as { gateway?: string }[];
  for (const l of links) {
    if (l.ifname === 'lo' || l.ifname === BRIDGE || l.ifname === TAP) continue;
    const a = l.addr_info?.find((x) => x.family === 'inet' && (ip === undefined || x.local === ip));
    if (a !== undefined && l.address !== undefined) {
      return {
        ifname: l.ifname,
        mac: l.address,
        ip: a.local,
        prefix: a.prefixlen,
        gateway: routes[0]?.gateway ?? null,
      };
    }
  }
  return null;
}

/**
 * Hands the instance address from the agent's veth end to the guest: the veth loses its address (and takes a
 * random MAC, since a bridge port with the guest's MAC would swallow the guest's frames as its own), and joins a
 * bridge with a TAP that QEMU opens. The guest then answers for the IP with the MAC the agent chose.
 */
export async function bridgeVethToTap(nsPath: string, veth: VethConfig): Promise<void> {
  const randomMac = `02:${[...randomBytes(5)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
  await ipIn(nsPath, 'addr', 'flush', 'dev', veth.ifname);
  await ipIn(nsPath, 'link', 'set', veth.ifname, 'address', randomMac);
  await ipIn(nsPath, 'link', 'add', BRIDGE, 'type', 'bridge', 'forward_delay', '0');
  await ipIn(nsPath, 'link', 'set', veth.ifname, 'master', BRIDGE);
  await ipIn(nsPath, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap');
  await ipIn(nsPath, 'link', 'set', TAP, 'master', BRIDGE, 'up');
  await ipIn(nsPath, 'link', 'set', BRIDGE, 'up');
  await ipIn(nsPath, 'link', 'set', veth.ifname, 'up');
}

/** Removes the TAP and bridge and gives the veth back its MAC, address and route. Each step is best effort. */
export async function restoreVeth(nsPath: string, veth: VethConfig | null): Promise<void> {
  const quiet = (...args: string[]): Promise<unknown> =>
    runTool('nsenter', [`--net=${nsPath}`, '--', 'ip', ...args]).catch(() => undefined);
  await quiet('link', 'del', TAP);
  await quiet('link', 'del', BRIDGE);
  if (veth === null) return;
  await quiet('link', 'set', veth.ifname, 'address', veth.mac);
  await quiet('addr', 'add', `${veth.ip}/${veth.prefix}`, 'dev', veth.ifname);
  await quiet('link', 'set', veth.ifname, 'up');
  if (veth.gateway !== null) await quiet('route', 'add', 'default', 'via', veth.gateway, 'dev', veth.ifname);
}

/** Links we created that are still in the namespace (for tests and leftovers checks). */
export async function ourLinksIn(nsPath: string): Promise<string[]> {
  const r = await runTool('nsenter', [`--net=${nsPath}`, '--', 'ip', '-br', 'link']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(/\s+/)[0]?.split('@')[0] ?? '')
    .filter((n) => n === TAP || n === BRIDGE);
}

/** The network the guest takes: the spec's when the agent gave one, else read from the veth. */
export function networkOf(veth: VethConfig, given: InstanceNetwork | undefined): InstanceNetwork {
  if (given !== undefined) return given;
  if (veth.gateway === null)
    throw new Error(`no default route in the namespace: cannot tell the guest its gateway`);
  return { ip: veth.ip, prefix: veth.prefix, gateway: veth.gateway, mac: veth.mac };
}
