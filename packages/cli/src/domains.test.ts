import { describe, expect, it } from 'vitest';
import { expectErrorLine, expectSuccess, useLoggedInSession } from './test-session.js';

const s = useLoggedInSession();

describe('shellwego domains', () => {
  it('adds a domain, shows its certificate status, and removes it', async () => {
    expectSuccess(await s.cli(['apps', 'create', 'shop']));
    const added = await s.cli(['domains', 'add', 'shop', 'shop.test']);
    expectSuccess(added);
    expect(added.stdout).toMatch(/^added shop\.test to shop; certificate \w+/);
    // A local name gets its certificate from the local CA at once; a public one waits for ACME (not configured).
    await expect
      .poll(async () => JSON.parse((await s.cli(['domains', 'ls', 'shop', '--json'])).stdout) as unknown, {
        timeout: 15_000,
      })
      .toEqual([
        expect.objectContaining({
          hostname: 'shop.test',
          tls_status: 'active',
          certificate_expires_at: expect.any(String) as unknown,
        }),
      ]);
    expectSuccess(await s.cli(['domains', 'add', 'shop', 'shop.example.com']));
    await expect
      .poll(async () => (await s.cli(['domains', 'ls', 'shop'])).stdout, { timeout: 15_000 })
      .toMatch(/shop\.example\.com\s+pending\s+-\s+ACME is not configured/);
    expectSuccess(await s.cli(['domains', 'rm', 'shop', 'shop.test']));
    const left = JSON.parse((await s.cli(['domains', 'ls', 'shop', '--json'])).stdout) as {
      hostname: string;
    }[];
    expect(left.map((d) => d.hostname)).toEqual(['shop.example.com']);
    expectErrorLine(await s.cli(['domains', 'add', 'shop', 'Not A Host']), 'VALIDATION_FAILED');
  });
});
