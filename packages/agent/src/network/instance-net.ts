import { PaasError } from '@shellwego/core';
import { CommandError, ipBatch, run } from './exec.js';
import { removeLink, removeNamespace } from './links.js';

export interface AttachSpec {
  bridge: string;
  instanceId: string;
  ip: string;
  prefix: number;
  gateway: string;
  mac: string;
  nsName: string;
  hostIf: string;
  /** Caps what the instance sends, in megabits per second. */
  egressRateMbit?: number;
}

export interface Attachment {
  /** What runc's config.json names as the network namespace path. */
  nsPath: string;
  ip: string;
}

export function nsPathOf(nsName: string): string {
  return `/var/run/netns/${nsName}`;
}

/**
 * Gives an instance its own network namespace with `eth0` (its MAC and address, default route via the bridge's
 * gateway) joined to the bridge by a veth pair. On any failure it undoes what it created and nothing else: a
 * namespace or interface that already existed under the same name is left alone.
 */
export async function attach(spec: AttachSpec): Promise<Attachment> {
  const { nsName, hostIf } = spec;
  try {
    // Two processes, one per namespace. The peer is created inside the namespace directly, so `eth0` never exists
    // in the host namespace.
    await ipBatch([
      ['netns', 'add', nsName],
      ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'address', spec.mac, 'netns', nsName],
      ['link', 'set', hostIf, 'master', spec.bridge, 'up'],
    ]);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    // `ip -batch` names the failing line: the first means the namespace already existed, and it is not ours.
    const ours = !(e instanceof CommandError && /Command failed -:1\b/.test(e.stderr));
    if (ours) await removeNamespace(nsName).catch(() => undefined);
    throw new PaasError(
      ours ? 'INTERNAL' : 'CONFLICT',
      `network attach of instance ${spec.instanceId} failed: ${reason}`,
      {
        cause: e,
      },
    );
  }
  try {
    await ipBatch(
      [
        ['addr', 'add', `${spec.ip}/${spec.prefix}`, 'dev', 'eth0'],
        ['link', 'set', 'lo', 'up'],
        ['link', 'set', 'eth0', 'up'],
        ['route', 'add', 'default', 'via', spec.gateway, 'dev', 'eth0'],
      ],
      nsName,
    );
    if (spec.egressRateMbit !== undefined) await limitEgress(nsName, spec.egressRateMbit);
  } catch (e) {
    // Deleting our namespace deletes the veth pair with it, host side included.
    await removeNamespace(nsName).catch(() => undefined);
    const reason = e instanceof Error ? e.message : String(e);
    throw new PaasError('INTERNAL', `network attach of instance ${spec.instanceId} failed: ${reason}`, {
      cause: e,
    });
  }
  return { nsPath: nsPathOf(nsName), ip: spec.ip };
}

/** Removes the instance's namespace and veth pair; detaching twice, or something never attached, is fine. */
export async function detach(spec: { nsName: string; hostIf: string }): Promise<void> {
  await removeNamespace(spec.nsName);
  // Normally gone with the namespace; a crash between `link add` and the move could leave the host side alone.
  await removeLink(spec.hostIf);
}

/**
 * A token bucket on the instance's own eth0: a root qdisc shapes what its device transmits, which is the instance's
 * egress (one on the host-side veth would shape traffic towards the instance instead). The namespace belongs to the
 * agent and runc containers lack CAP_NET_ADMIN, so the instance cannot remove it.
 */
async function limitEgress(nsName: string, mbit: number): Promise<void> {
  if (!(mbit > 0)) throw new RangeError(`egress rate must be positive, got ${mbit}`);
  // Burst of 10 ms at the rate, at least 16 KiB: tbf needs a burst above the MTU, and a tiny one starves the link.
  const burstBytes = Math.max(Math.ceil((mbit * 1e6) / 8 / 100), 16 * 1024);
  await run('tc', [
    '-n',
    nsName,
    'qdisc',
    'add',
    'dev',
    'eth0',
    'root',
    'tbf',
    'rate',
    `${mbit}mbit`,
    'burst',
    `${burstBytes}`,
    'latency',
    '50ms',
  ]);
}
