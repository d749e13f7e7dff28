import { PaasError } from '@shellwego/core';
import { intToIp, overlaps, parseCidr, parseRouteDst } from './cidr.js';
import type { Subnet } from './cidr.js';
import { ip } from './exec.js';
import { findLink, removeLink } from './links.js';

export interface BridgeSpec {
  name: string;
  /** The instances' subnet; the bridge takes its first address as their gateway. */
  cidr: string;
}

/**
 * Creates the bridge with the gateway address when missing and brings it up. Idempotent, so the agent calls it on
 * every start. Refuses a subnet that overlaps a route on another device: the node's own network comes first.
 */
export async function ensureBridge(spec: BridgeSpec): Promise<void> {
  const subnet = parseCidr(spec.cidr);
  await assertSubnetFree(subnet, spec.name);
  let link = await findLink(spec.name);
  if (link === undefined) {
    try {
      await ip('link', 'add', spec.name, 'type', 'bridge');
    } catch (e) {
      // Another caller may have created it meanwhile; only a still-missing bridge is a failure.
      if ((await findLink(spec.name)) === undefined) throw e;
    }
    link = await findLink(spec.name);
  }
  if (link?.kind !== 'bridge') {
    throw new PaasError(
      'CONFLICT',
      `network device ${spec.name} exists and is not a bridge (${link?.kind ?? 'unknown'})`,
      {
        hint: 'choose another bridge name',
      },
    );
  }
  const gateway = intToIp(subnet.gateway);
  if (!link.addresses.some((a) => a.local === gateway && a.prefixlen === subnet.prefix)) {
    await ip('addr', 'add', `${gateway}/${subnet.prefix}`, 'dev', spec.name);
  }
  await ip('link', 'set', spec.name, 'up');
}

/** Deletes the bridge; a bridge that is already gone is fine. */
export async function removeBridge(name: string): Promise<void> {
  await removeLink(name);
}

async function assertSubnetFree(subnet: Subnet, bridge: string): Promise<void> {
  // Every table, so policy-routing setups (VPNs, other container engines) count too.
  const routes = JSON.parse(await ip('-4', '-j', 'route', 'show', 'table', 'all')) as {
    dst: string;
    dev?: string;
  }[];
  for (const r of routes) {
    if (r.dev === bridge) continue;
    const dst = parseRouteDst(r.dst); // undefined for the default route, which overlaps everything by design
    if (dst !== undefined && overlaps(dst, subnet)) {
      throw new PaasError(
        'CONFLICT',
        `subnet ${subnet.cidr} overlaps route ${r.dst} on ${r.dev ?? 'another device'}`,
        {
          hint: 'choose an instance subnet this host does not use',
        },
      );
    }
  }
}
