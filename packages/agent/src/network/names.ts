import { createHash } from 'node:crypto';
import { PaasError } from '@shellwego/core';

/** Linux limits interface names to 15 characters (IFNAMSIZ - 1). */
const maxIfName = 15;
const hashLength = 8;

export interface InstanceNames {
  /** The host side of the veth pair, enslaved to the bridge. */
  hostIf: string;
  /** The instance's network namespace, at /var/run/netns/<nsName>. */
  nsName: string;
}

/**
 * Names for an instance's host-side interface and namespace: `<prefix>h<hash>` and `<prefix>n<hash>`. Instance ids are
 * longer than 15 characters, so the names carry 40 bits of SHA-256 of the id in base36: deterministic (the agent finds
 * them again after a restart) and recognisable by prefix (leftovers after a crash can be listed and removed).
 */
export function instanceNames(prefix: string, instanceId: string): InstanceNames {
  assertPrefix(prefix);
  const digest = createHash('sha256').update(instanceId, 'utf8').digest();
  const hash = digest.readUIntBE(0, 5).toString(36).padStart(hashLength, '0');
  return { hostIf: `${prefix}h${hash}`, nsName: `${prefix}n${hash}` };
}

/** Matches names that `instanceNames(prefix, …)` produces. */
export function isInstanceName(prefix: string, name: string): boolean {
  return (
    name.length === prefix.length + 1 + hashLength &&
    new RegExp(`^${prefix}[hn][0-9a-z]{${hashLength}}$`).test(name)
  );
}

export function assertPrefix(prefix: string): void {
  if (!/^[a-z][a-z0-9]*$/.test(prefix) || prefix.length + 1 + hashLength > maxIfName) {
    throw new PaasError(
      'VALIDATION_FAILED',
      `invalid network name prefix ${prefix}: use 1 to 6 lower-case letters or digits, starting with a letter`,
      {
        field: 'prefix',
      },
    );
  }
}
