/**
 * A deterministic, locally administered unicast MAC for an instance: `02:00:00:` + 24 bits of a hash of its id.
 *
 * Deterministic so an instance keeps its MAC across agent restarts and re-attaches (neighbours' ARP caches stay
 * valid). Pure and synchronous so core stays browser-safe: 32-bit FNV-1a over the UTF-8 bytes, xor-folded to 24 bits.
 * 24 bits can collide (about 1 pair in 2^24 per pair of ids); the IPAM, not the MAC, guarantees that instances on a
 * node are distinct, and the agent's network layer refuses a MAC another lease on the same bridge already uses.
 */
export function macForInstance(id: string): string {
  const h = fnv1a32(new TextEncoder().encode(id));
  // Xor-folding keeps the high bits' influence; FNV's low bits alone mix poorly for short inputs.
  const v = ((h >>> 24) ^ h) & 0xffffff;
  const bytes = [(v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  return ['02', '00', '00', ...bytes.map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

function fnv1a32(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
