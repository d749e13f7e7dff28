import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, request, startTestControlPlane } from '@shellwego/testkit';
import type { TestControlPlane } from '@shellwego/testkit';
import { parseBranding } from '../../services/branding.js';
import { bearerFromProtocols } from './dashboard.js';

describe('branding.yml', () => {
  it('takes every field, with aliases, and defaults for what is missing', () => {
    expect(parseBranding('')).toEqual({ name: 'ShellWeGo', primary_color: '#4f46e5' });
    expect(
      parseBranding(
        'name: Acme Cloud\nlogo: logo.svg\nfavicon: https://cdn.example.com/f.ico\nprimary_colour: "#FF6600"\nfont: Inter, sans-serif\nfooter: © Acme\n',
      ),
    ).toEqual({
      name: 'Acme Cloud',
      logo: 'logo.svg',
      favicon: 'https://cdn.example.com/f.ico',
      primary_color: '#FF6600',
      font: 'Inter, sans-serif',
      footer: '© Acme',
    });
  });

  it('refuses a bad file with a message that names the field or the line', () => {
    expect(() => parseBranding('primary_color: orange')).toThrow(/primary_color: must be a hex colour/);
    expect(() => parseBranding('name: [unclosed')).toThrow(/not valid YAML/);
    expect(() => parseBranding('logo: ../../etc/passwd')).toThrow(/^branding.yml: logo: /);
    expect(() => parseBranding('font: "x; } body { display: none"')).toThrow(/font: /);
    expect(() => parseBranding('colour: "#fff"')).toThrow(/branding.yml: \(top level\): /);
    expect(() => parseBranding('- a list')).toThrow(/branding.yml/);
  });

  it('reads WebSocket credentials from the subprotocols a browser can send', () => {
    expect(bearerFromProtocols('shellwego, bearer.abc.def-ghi_jkl')).toBe('abc.def-ghi_jkl');
    expect(bearerFromProtocols('shellwego')).toBeUndefined();
    expect(bearerFromProtocols(undefined)).toBeUndefined();
  });
});

describe('the dashboard and branding routes of a control plane', () => {
  let cp: TestControlPlane;
  let dashboardDir: string;
  const brandingFile = (): string => join(cp.dataDir, 'branding.yml');
  /** A write within the same millisecond keeps size and mtime: push the mtime on so the change is seen. */
  let bump = 0;
  const writeBranding = async (text: string): Promise<void> => {
    await writeFile(brandingFile(), text);
    const t = new Date(Date.now() + ++bump * 1000);
    await utimes(brandingFile(), t, t);
  };

  beforeAll(async () => {
    dashboardDir = await makeTempDir('swg-dash-');
    await mkdir(join(dashboardDir, 'assets'));
    await writeFile(
      join(dashboardDir, 'index.html'),
      '<!doctype html><title>ShellWeGo</title><div id="root"></div>',
    );
    await writeFile(join(dashboardDir, 'assets', 'app-123.js'), 'console.log(1)');
    cp = await startTestControlPlane({ dashboardDir });
  });
  afterAll(async () => {
    await cp?.close();
    await removeDir(dashboardDir);
  });

  it('answers the defaults without a branding.yml, with no credentials', async () => {
    const res = await request(cp.url, 'GET', '/v1/branding');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      name: 'ShellWeGo',
      logo_url: null,
      favicon_url: null,
      primary_color: '#4f46e5',
      font: null,
      footer: null,
      source: 'default',
      error: null,
    });
  });

  it('reads branding.yml again when it changes, and keeps the last good one when it is bad', async () => {
    await writeFile(join(cp.dataDir, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeBranding('name: Acme Cloud\nprimary_color: "#ff6600"\nlogo: logo.svg\nfooter: Acme Ltd\n');
    let body = (await request(cp.url, 'GET', '/v1/branding')).body as Record<string, unknown>;
    expect(body).toMatchObject({
      name: 'Acme Cloud',
      primary_color: '#ff6600',
      footer: 'Acme Ltd',
      source: 'file',
    });
    expect(body.logo_url).toMatch(/^\/v1\/branding\/logo\?v=/);
    const logo = await fetch(new URL(String(body.logo_url), cp.url));
    expect(logo.status).toBe(200);
    expect(logo.headers.get('content-type')).toBe('image/svg+xml');
    expect((await request(cp.url, 'GET', '/v1/branding/favicon')).status).toBe(404);

    await writeBranding('name: Acme\nprimary_color: orange\n');
    body = (await request(cp.url, 'GET', '/v1/branding')).body as Record<string, unknown>;
    expect(body).toMatchObject({ name: 'Acme Cloud', primary_color: '#ff6600', source: 'file' });
    expect(body.error).toMatch(/primary_color: must be a hex colour/);

    await rm(brandingFile());
    body = (await request(cp.url, 'GET', '/v1/branding')).body as Record<string, unknown>;
    expect(body).toMatchObject({ name: 'ShellWeGo', source: 'default', error: null });
  });

  it('serves the dashboard at / with the brand in the title, its files, and index.html for app paths', async () => {
    await writeBranding('name: Acme <Cloud>\n');
    const index = await fetch(new URL('/', cp.url));
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await index.text()).toContain('<title>Acme &#60;Cloud&#62;</title>');
    const deep = await fetch(new URL('/apps/web/logs', cp.url));
    expect(deep.status).toBe(200);
    expect(await deep.text()).toContain('<div id="root">');
    const asset = await fetch(new URL('/assets/app-123.js', cp.url));
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    expect(await asset.text()).toBe('console.log(1)');
    // Nothing outside the dashboard's directory.
    const escape = await fetch(new URL('/%2e%2e/%2e%2e/etc/passwd', cp.url));
    expect(await escape.text()).not.toMatch(/root:/);
    await rm(brandingFile());
  });

  it('leaves the API its JSON 404s', async () => {
    const res = await request(cp.url, 'GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: { code: 'ROUTE_NOT_FOUND' } });
    expect((await request(cp.url, 'GET', '/v1/health')).status).toBe(200);
  });

  it('accepts a browser WebSocket with the token as a subprotocol', async () => {
    const token = await cp.adminToken();
    const url = `${cp.url.replace(/^http/, 'ws')}/v1/events`;
    const protocol = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(url, ['shellwego', `bearer.${token}`]);
      ws.once('open', () => {
        resolve(ws.protocol);
        ws.close();
      });
      ws.once('error', reject);
    });
    expect(protocol).toBe('shellwego');
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url, ['shellwego', 'bearer.not-a-token']);
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('open', () => resolve(101));
      ws.once('error', () => undefined);
    });
    expect(refused).toBe(401);
  });

  it('asks the first admin to change the printed password, once, and ends the sessions of the old one', async () => {
    const token = await cp.adminToken();
    // Another session of the same user (a second browser, or whoever else read the printed password).
    const other = (
      await request(cp.url, 'POST', '/v1/auth/login', {
        body: { email: cp.admin.email, password: cp.admin.password },
      })
    ).body as { refresh_token: string };
    expect((await request(cp.url, 'GET', '/v1/me/password', { token })).body).toEqual({ must_change: true });
    const wrong = await request(cp.url, 'POST', '/v1/me/password', {
      token,
      body: { current_password: 'not-the-password', new_password: 'a-new-password-1' },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ error: { field: 'current_password' } });
    const short = await request(cp.url, 'POST', '/v1/me/password', {
      token,
      body: { current_password: cp.admin.password, new_password: 'short' },
    });
    expect(short.status).toBe(400);
    const ok = await request(cp.url, 'POST', '/v1/me/password', {
      token,
      body: { current_password: cp.admin.password, new_password: 'a-new-password-1' },
    });
    expect(ok.status).toBe(200);
    const fresh = ok.body as { access_token: string; refresh_token: string };
    expect((await request(cp.url, 'GET', '/v1/me/password', { token })).body).toEqual({ must_change: false });
    // The other session cannot refresh any more; the caller's new one can.
    const stale = await request(cp.url, 'POST', '/v1/auth/refresh', {
      body: { refresh_token: other.refresh_token },
    });
    expect(stale.status).toBe(401);
    const renewed = await request(cp.url, 'POST', '/v1/auth/refresh', {
      body: { refresh_token: fresh.refresh_token },
    });
    expect(renewed.status).toBe(200);
    expect((await request(cp.url, 'GET', '/v1/me', { token: fresh.access_token })).body).toMatchObject({
      email: cp.admin.email,
    });
    expect(
      (
        await request(cp.url, 'POST', '/v1/auth/login', {
          body: { email: cp.admin.email, password: 'a-new-password-1' },
        })
      ).status,
    ).toBe(200);
    const audit = await request(cp.url, 'GET', '/v1/audit', { token });
    expect(JSON.stringify(audit.body)).toContain('user.password_changed');
  });
});

describe('a control plane without a built dashboard', () => {
  it('says so at / instead of failing', async () => {
    const cp = await startTestControlPlane({ dashboardDir: join(await makeTempDir('swg-nodash-'), 'dist') });
    try {
      const res = await fetch(new URL('/', cp.url));
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(/dashboard is not built/);
      expect((await request(cp.url, 'GET', '/v1/branding')).status).toBe(200);
    } finally {
      await cp.close();
    }
  });
});
