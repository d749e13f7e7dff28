import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

export { canonicalJson };

/**
 * The audit log's hash chain. Each entry's hash covers its content and the previous entry's hash;
 * the organization row keeps the head (last seq and hash), so a modified, removed or truncated entry
 * breaks verification. Published as the `@shellwego/core/audit` subpath: it needs node:crypto.
 */
export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedEntry {
  seq: number;
  org_id: string;
  actor: string;
  action: string;
  resource: string;
  resource_id: string;
  data: Record<string, unknown>;
  at: string;
  prev_hash: string;
  hash: string;
}

export function auditHash(entry: Omit<ChainedEntry, 'hash'>): string {
  const content = canonicalJson([
    entry.seq,
    entry.org_id,
    entry.actor,
    entry.action,
    entry.resource,
    entry.resource_id,
    entry.data,
    entry.at,
    entry.prev_hash,
  ]);
  return createHash('sha256').update(content).digest('hex');
}

export interface ChainVerification {
  ok: boolean;
  entries: number;
  problem: string | null;
  first_bad_seq: number | null;
}

/** Verifies a whole chain (entries in seq order, from seq 1) against the head the store recorded. */
export function verifyAuditChain(
  entries: readonly ChainedEntry[],
  head: { seq: number; hash: string },
): ChainVerification {
  const bad = (seq: number, problem: string): ChainVerification => ({
    ok: false,
    entries: entries.length,
    problem,
    first_bad_seq: seq,
  });
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  for (const e of entries) {
    if (e.seq !== expectedSeq) return bad(expectedSeq, `entry ${expectedSeq} is missing`);
    if (e.prev_hash !== prev) return bad(e.seq, `entry ${e.seq} does not link to entry ${e.seq - 1}`);
    if (auditHash(e) !== e.hash)
      return bad(e.seq, `entry ${e.seq} was modified: its content does not match its hash`);
    prev = e.hash;
    expectedSeq++;
  }
  const lastSeq = expectedSeq - 1;
  if (lastSeq !== head.seq) {
    return bad(lastSeq + 1, `the log ends at entry ${lastSeq} but the recorded head is entry ${head.seq}`);
  }
  if (prev !== head.hash) return bad(lastSeq, `entry ${lastSeq} does not match the recorded head`);
  return { ok: true, entries: entries.length, problem: null, first_bad_seq: null };
}
