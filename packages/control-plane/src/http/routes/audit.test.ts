import { describe, expect, it } from 'vitest';
import { dialects } from '@shellwego/testkit/vitest';
import { uniq, useApi } from '../../test-api.js';

type Page = {
  items: { seq: number; action: string; actor: string; hash: string; prev_hash: string }[];
  head: { seq: number; hash: string };
};

describe.each(dialects)('the audit log on $name', ({ databaseUrl }) => {
  const api = useApi(databaseUrl);

  it('appends one chained entry per mutation, and none for reads or refused requests', async () => {
    const before = (await api.call('GET', '/v1/audit')).body as Page;
    const name = uniq('aud');
    await api.call('POST', '/v1/apps', { body: { name } });
    await api.call('PATCH', `/v1/apps/${name}`, { body: { replicas: 2 } });
    await api.call('PUT', `/v1/apps/${name}/secrets/K`, { body: { value: 'v' } });
    await api.call('GET', `/v1/apps/${name}`);
    await api.call('POST', '/v1/apps', { body: { name: 'Bad Name' } });
    await api.call('DELETE', `/v1/apps/${name}`);
    const after = (await api.call('GET', '/v1/audit')).body as Page;
    const added = after.items.slice(before.items.length);
    expect(added.map((e) => e.action)).toEqual(['app.create', 'app.update', 'secret.set', 'app.delete']);
    expect(added.every((e) => e.actor === api.cp.admin.email)).toBe(true);
    for (let i = 1; i < after.items.length; i++)
      expect(after.items[i]!.prev_hash).toBe(after.items[i - 1]!.hash);
    expect(after.head).toEqual({ seq: after.items.at(-1)!.seq, hash: after.items.at(-1)!.hash });
  });

  it('pages with a cursor and verifies on the server, detecting tampering in the store', async () => {
    const p1 = (await api.call('GET', '/v1/audit?limit=2')).body as Page & { next_cursor: string };
    expect(p1.items).toHaveLength(2);
    const p2 = (await api.call('GET', `/v1/audit?limit=2&cursor=${p1.next_cursor}`)).body as Page;
    expect(p2.items[0]!.seq).toBe(3);
    expect((await api.call('GET', '/v1/audit/verify')).body).toMatchObject({ ok: true });

    const db = api.cp.controlPlane.store.db;
    await db.updateTable('audit_log').set({ actor: 'someone-else' }).where('seq', '=', 2).execute();
    const broken = await api.call('GET', '/v1/audit/verify');
    expect(broken.body).toMatchObject({ ok: false, first_bad_seq: 2 });
    expect((broken.body as { problem: string }).problem).toMatch(/entry 2 was modified/);
  });
});
