import { mkdir, readFile } from 'node:fs/promises';
import { writeAtomically } from '../state/atomic-write.js';
import { join } from 'node:path';
import { PaasError } from '@shellwego/core';
import { contains, intToIp, ipToInt, parseCidr } from './cidr.js';
import type { Subnet } from './cidr.js';

interface LeaseFile {
  cidr: string;
  /** Where the next search starts, so a released address is not handed out again at once (stale ARP caches). */
  next: string;
  leases: Record<string, string>;
}

/**
 * Addresses for instances on one subnet: the gateway is .1, instances get .2 up to the last before broadcast.
 * Leases live in `<stateDir>/leases.json`, rewritten atomically (temp, fsync, rename, fsync dir) on every change, so
 * a crash leaves either the old or the new file and an agent restart keeps every address it handed out.
 * One process owns a state dir; inside it, allocate and release run one at a time on a promise chain.
 */
export class Ipam {
  readonly subnet: Subnet;
  private state: LeaseFile;
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly file: string,
    subnet: Subnet,
    state: LeaseFile,
  ) {
    this.subnet = subnet;
    this.state = state;
  }

  static async open(opts: { stateDir: string; cidr: string }): Promise<Ipam> {
    const subnet = parseCidr(opts.cidr);
    await mkdir(opts.stateDir, { recursive: true, mode: 0o700 });
    const file = join(opts.stateDir, 'leases.json');
    const state = (await readLeaseFile(file)) ?? {
      cidr: subnet.cidr,
      next: intToIp(subnet.gateway + 1),
      leases: {},
    };
    if (state.cidr !== subnet.cidr) {
      // Renumbering under running instances would hand out addresses they still use.
      throw new PaasError('CONFLICT', `lease file ${file} is for subnet ${state.cidr}, not ${subnet.cidr}`, {
        hint: 'stop every instance on this node and remove the lease file before changing the subnet',
      });
    }
    return new Ipam(file, subnet, state);
  }

  get gateway(): string {
    return intToIp(this.subnet.gateway);
  }

  /** The instance's address: its existing lease, or the next free one. */
  allocate(instanceId: string): Promise<string> {
    return this.serialized(async () => {
      const existing = this.state.leases[instanceId];
      if (existing !== undefined) return existing;
      const ip = this.findFree();
      const next = ipToInt(ip) + 1;
      await this.save({
        ...this.state,
        next: intToIp(next > this.subnet.last ? this.subnet.gateway + 1 : next),
        leases: { ...this.state.leases, [instanceId]: ip },
      });
      return ip;
    });
  }

  /** Frees the instance's address; releasing an instance without a lease does nothing. */
  release(instanceId: string): Promise<void> {
    return this.serialized(async () => {
      if (this.state.leases[instanceId] === undefined) return;
      const leases = { ...this.state.leases };
      delete leases[instanceId];
      await this.save({ ...this.state, leases });
    });
  }

  /** A copy of the current leases, instance id to address. */
  leases(): Record<string, string> {
    return { ...this.state.leases };
  }

  lease(instanceId: string): string | undefined {
    return this.state.leases[instanceId];
  }

  private findFree(): string {
    const used = new Set(Object.values(this.state.leases).map(ipToInt));
    const first = this.subnet.gateway + 1;
    const count = this.subnet.last - first + 1;
    const start = Math.min(Math.max(ipToInt(this.state.next), first), this.subnet.last);
    for (let i = 0; i < count; i++) {
      const candidate = first + ((start - first + i) % count);
      if (!used.has(candidate)) return intToIp(candidate);
    }
    throw new PaasError(
      'UNAVAILABLE',
      `subnet ${this.subnet.cidr} is full: all ${count} instance addresses are leased`,
      {
        hint: 'stop instances on this node or configure a larger subnet',
      },
    );
  }

  private async save(next: LeaseFile): Promise<void> {
    await writeAtomically(this.file, JSON.stringify(next, null, 2) + '\n');
    this.state = next;
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.chain.then(fn);
    // The chain must survive a failed step, or one error would stall every later allocation.
    this.chain = result.catch(() => undefined);
    return result;
  }
}

async function readLeaseFile(file: string): Promise<LeaseFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const parsed = JSON.parse(text) as LeaseFile;
  const subnet = parseCidr(parsed.cidr);
  const seen = new Set<string>();
  for (const [id, ip] of Object.entries(parsed.leases)) {
    // A hand-edited or foreign file must not make us hand out one address twice.
    if (seen.has(ip) || !contains(subnet, ipToInt(ip))) {
      throw new PaasError(
        'CONFLICT',
        `lease file ${file} is corrupt: address ${ip} of ${id} is duplicated or outside ${parsed.cidr}`,
      );
    }
    seen.add(ip);
  }
  return parsed;
}
