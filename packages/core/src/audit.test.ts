import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, auditHash, canonicalJson, verifyAuditChain } from './audit.js';
import type { ChainedEntry } from './audit.js';

function chain(n: number): ChainedEntry[] {
  const out: ChainedEntry[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const e = {
      seq,
      org_id: 'org_1',
      actor: 'a@b.c',
      action: 'app.create',
      resource: 'apps',
      resource_id: `app_${seq}`,
      data: { name: `app-${seq}`, nested: { b: 1, a: 2 } },
      at: new Date(1_700_000_000_000 + seq).toISOString(),
      prev_hash: prev,
    };
    const hash = auditHash(e);
    out.push({ ...e, hash });
    prev = hash;
  }
  return out;
}

const headOf = (c: ChainedEntry[]) => ({ seq: c.length, hash: c.at(-1)?.hash ?? GENESIS_HASH });

describe('audit hash chain', () => {
  it('verifies an untouched chain, and an empty one', () => {
    const c = chain(5);
    expect(verifyAuditChain(c, headOf(c)).ok).toBe(true);
    expect(verifyAuditChain([], { seq: 0, hash: GENESIS_HASH }).ok).toBe(true);
  });

  it('hashes content independent of key order', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('{"a":[1,{"c":3,"d":2}],"b":1}');
  });

  it('detects a modified entry', () => {
    const c = chain(5);
    c[2] = { ...c[2]!, data: { name: 'evil' } };
    expect(verifyAuditChain(c, headOf(chain(5)))).toMatchObject({ ok: false, first_bad_seq: 3 });
  });

  it('detects a modified entry whose hash was recomputed (the next link breaks)', () => {
    const c = chain(5);
    const forged = { ...c[2]!, actor: 'someone-else' };
    c[2] = { ...forged, hash: auditHash(forged) };
    expect(verifyAuditChain(c, headOf(chain(5)))).toMatchObject({ ok: false, first_bad_seq: 4 });
  });

  it('detects a deleted middle entry and a deleted last entry', () => {
    const c = chain(5);
    const head = headOf(c);
    expect(verifyAuditChain([...c.slice(0, 2), ...c.slice(3)], head)).toMatchObject({
      ok: false,
      first_bad_seq: 3,
    });
    const truncated = verifyAuditChain(c.slice(0, 4), head);
    expect(truncated.ok).toBe(false);
    expect(truncated.problem).toMatch(/head is entry 5/);
  });
});
