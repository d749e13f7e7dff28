import { PaasError } from '@shellwego/core';

/** An IPv4 subnet in integer form, so address arithmetic is plain addition. */
export interface Subnet {
  cidr: string;
  network: number;
  prefix: number;
  /** The first usable address (.1), which the bridge takes as the instances' gateway. */
  gateway: number;
  /** The last usable address (one below broadcast). */
  last: number;
}

export function parseCidr(cidr: string): Subnet {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  const prefix = m ? Number(m[2]) : NaN;
  // A /31 or /32 leaves no room for a gateway and an instance.
  if (!m || !(prefix >= 8 && prefix <= 30)) {
    throw new PaasError(
      'VALIDATION_FAILED',
      `invalid subnet ${cidr}: expected IPv4 CIDR such as 10.213.0.0/24`,
      {
        field: 'cidr',
      },
    );
  }
  const addr = ipToInt(m[1] ?? '');
  const size = 2 ** (32 - prefix);
  const network = addr - (addr % size);
  if (network !== addr) {
    throw new PaasError(
      'VALIDATION_FAILED',
      `invalid subnet ${cidr}: host bits set, did you mean ${intToIp(network)}/${prefix}?`,
      {
        field: 'cidr',
      },
    );
  }
  return { cidr, network, prefix, gateway: network + 1, last: network + size - 2 };
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new PaasError('VALIDATION_FAILED', `invalid IPv4 address ${ip}`);
  }
  // Multiplication, not <<, so the result stays an unsigned number above 2^31.
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

/** True when two CIDRs share any address. */
export function overlaps(
  a: { network: number; prefix: number },
  b: { network: number; prefix: number },
): boolean {
  const aEnd = a.network + 2 ** (32 - a.prefix);
  const bEnd = b.network + 2 ** (32 - b.prefix);
  return a.network < bEnd && b.network < aEnd;
}

export function contains(s: Subnet, ip: number): boolean {
  return ip >= s.network && ip < s.network + 2 ** (32 - s.prefix);
}

/** A route destination as `ip -j route` prints it ("10.0.0.0/8", "192.0.2.1"), or undefined for `default`. */
export function parseRouteDst(dst: string): { network: number; prefix: number } | undefined {
  if (dst === 'default') return undefined;
  const [addr = '', bits] = dst.split('/');
  const prefix = bits === undefined ? 32 : Number(bits);
  const size = 2 ** (32 - prefix);
  const n = ipToInt(addr);
  return { network: n - (n % size), prefix };
}
