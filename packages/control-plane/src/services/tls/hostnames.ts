import { isIP } from 'node:net';

// Reserved for private use (RFC 6761, RFC 6762, and ICANN's .internal): no public CA can prove control of them.
const LOCAL_SUFFIXES = ['.localhost', '.local', '.test', '.internal'];

/** True for hostnames without a public name: the local CA certifies them, ACME cannot. */
export function isLocalHostname(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || isIP(h.replace(/^\[|\]$/g, '')) !== 0) return true;
  return LOCAL_SUFFIXES.some((s) => h.endsWith(s) || h === s.slice(1));
}
