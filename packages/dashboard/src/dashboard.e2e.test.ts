import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeTempDir,
  pushBusyboxImage,
  registerRuncExitCleanup,
  removeDir,
  startRegistry,
} from '@shellwego/testkit';
import type { BusyboxImage, RegistryServer, ShellwegoProcess } from '@shellwego/testkit';
// The agent's test helpers for real networks: unique names, a free subnet, cleanup by prefix.
import { registerExitCleanup, uniquePrefix } from '../../agent/src/network/test-net.js';
import { runcRootOf, startLocalUp, stopLocalUp } from '../../cli/src/test-local-up.js';
import { until } from '../../cli/src/test-load.js';

const isRoot = process.getuid?.() === 0;

const DIST = fileURLToPath(new URL('../dist/index.html', import.meta.url));
/** Screenshots of the main pages (gitignored, like every .test-artifacts folder). */
const SHOTS = fileURLToPath(new URL('../.test-artifacts/', import.meta.url));
/** The flags of the machine notes: headless as root, and no background traffic to a network that is closed. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** One GET through the edge with the app's hostname, as a browser that resolves APP.localhost sends it. */
function viaEdge(port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path: '/', headers: { host }, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(`${res.statusCode ?? 0} ${body}`));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** Serves its page and writes a line at start and one every second, so its logs have something to show. */
function talkingImage(registry: string, version: string): Promise<BusyboxImage> {
  return pushBusyboxImage(registry, 'dash/web', {
    cmd: [
      '/bin/sh',
      '-c',
      `trap "exit 0" TERM; httpd -p "$PORT" -h /www; echo "hello from ${version}"; i=0; while true; do i=$((i+1)); echo "tick ${version} $i"; sleep 1; done`,
    ],
    files: { 'www/index.html': `${version}\n` },
  });
}

describe.skipIf(!isRoot)('the dashboard against a real shellwego up (needs root)', () => {
  let dir: string;
  let home: string;
  let prefix: string;
  let registry: RegistryServer | undefined;
  let up: ShellwegoProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let httpPort = 0;
  let password = '';
  const newPassword = 'dashboard-e2e-password';
  const images: Record<'v1' | 'v2', BusyboxImage> = {} as never;
  const cancels: (() => void)[] = [];
  const consoleErrors: string[] = [];
  const app = `dash-${Math.random().toString(36).slice(2, 8)}`;
  const shot = async (name: string): Promise<void> => {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };
  const edge = (): Promise<string> => viaEdge(httpPort, `${app}.localhost`);

  beforeAll(async () => {
    if (!existsSync(DIST))
      throw new Error(`${DIST} is missing: build the dashboard first (npx vite build packages/dashboard)`);
    await mkdir(SHOTS, { recursive: true });
    dir = await makeTempDir('swg-dash-e2e-');
    home = await makeTempDir('swg-dash-home-');
    prefix = await uniquePrefix();
    cancels.push(registerExitCleanup(prefix), registerRuncExitCleanup(dir, runcRootOf(dir)));
    registry = await startRegistry();
    images.v1 = await talkingImage(registry.host, 'v1');
    images.v2 = await talkingImage(registry.host, 'v2');
    // The edge reports its traffic every second rather than every 10 s, so the Metrics tab has it soon.
    ({ up, httpPort } = await startLocalUp({ dir, prefix, env: { SHELLWEGO_EDGE_METRICS_MS: '1000' } }));
    password = up.password ?? '';
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
      // Chromium writes crash reports and caches under HOME even with a fresh profile.
      env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache') },
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
  }, 240_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await stopLocalUp(up, {
      dir,
      prefix,
      deleteApp: async () => {
        // Delete the app so the agent stops its containers before `up` goes.
        const login = await fetch(`${up?.url ?? ''}/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'admin@shellwego.local', password: newPassword }),
        }).catch(() => undefined);
        const token = login?.ok ? ((await login.json()) as { access_token: string }).access_token : undefined;
        if (token)
          await fetch(`${up?.url ?? ''}/v1/apps/${app}`, {
            method: 'DELETE',
            headers: { authorization: `Bearer ${token}` },
          });
      },
    });
    await registry?.stop();
    await removeDir(dir);
    await removeDir(home);
    for (const cancel of cancels) cancel();
  }, 120_000);

  it('logs in, deploys, rolls back, shows logs and follows the branding, with no console errors', async () => {
    const url = up?.url ?? '';

    // Logging in; the first run asks the admin to replace the printed password.
    await page.goto(`${url}/`);
    await page.waitForFunction('document.title === "Log in · ShellWeGo"');
    // The skip link comes first for keyboard users.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement && document.activeElement.textContent')).toBe(
      'Skip to content',
    );
    await page.getByLabel('E-mail').fill('admin@shellwego.local');
    await page.getByLabel('Password').fill(password);
    await shot('01-login');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Welcome to ShellWeGo' }).waitFor();
    await page.getByLabel('Printed password').fill(password);
    await page.getByLabel('New password', { exact: true }).fill(newPassword);
    await page.getByLabel('New password, again').fill(newPassword);
    await shot('02-first-run-password');
    await page.getByRole('button', { name: 'Save my password' }).click();
    await page.getByRole('heading', { name: 'Apps' }).waitFor();
    await page.getByText('No apps in main yet').waitFor();

    // Create an app from an image; it deploys at once and the page follows it to running.
    await page.getByRole('link', { name: 'New app' }).click();
    await page.getByLabel('Name').fill(app);
    await page.getByLabel('Image').fill(images.v1.reference);
    await page.getByLabel('Memory').fill('64m');
    await page.getByLabel('CPU').fill('0.25');
    await shot('03-new-app');
    await page.getByRole('button', { name: 'Create and deploy' }).click();
    await page.waitForURL(`**/apps/${app}/deploy`);
    await page.locator('.progress[data-deployment-status="succeeded"]', { hasText: 'Release 1:' }).waitFor({
      timeout: 120_000,
    });
    await page.locator('h1 [data-status="running"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('.steps li').count()).toBeGreaterThan(1);

    // Its URL, through the edge.
    await until(
      'the edge to serve v1',
      async () => ((await edge()) === '200 v1\n' ? true : undefined),
      20_000,
    );

    // The overview: instances with their state.
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.locator('tr[data-instance-state="running"]').first().waitFor();
    await shot('05-app-overview');

    // A second release, deployed from the page.
    await page.getByRole('link', { name: 'Deploy' }).click();
    await page.getByLabel('Image').fill(images.v2.reference);
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page.locator('.progress[data-deployment-status="succeeded"]', { hasText: 'Release 2:' }).waitFor({
      timeout: 120_000,
    });
    // Its steps, and the live events of the events WebSocket (open since the app's page was).
    expect(await page.locator('.steps li').count()).toBeGreaterThan(1);
    await page.locator('.events li', { hasText: 'deployment.' }).first().waitFor();
    await shot('04-deploy-progress');
    await until(
      'the edge to serve v2',
      async () => ((await edge()) === '200 v2\n' ? true : undefined),
      20_000,
    );

    // One click rolls back to release 1 (as a new release 3).
    await page.getByRole('link', { name: 'Releases' }).click();
    await page.getByRole('button', { name: 'Roll back to release 1' }).waitFor();
    await shot('06-releases');
    await page.getByRole('button', { name: 'Roll back to release 1' }).click();
    await page.waitForURL(`**/apps/${app}/deploy`);
    await page.locator('.progress[data-deployment-status="succeeded"]', { hasText: 'Release 3:' }).waitFor({
      timeout: 120_000,
    });
    await until(
      'the edge to serve v1 again',
      async () => ((await edge()) === '200 v1\n' ? true : undefined),
      20_000,
    );

    // Logs arrive live, and search narrows them.
    await page.getByRole('link', { name: 'Logs' }).click();
    await page.locator('.logs li', { hasText: 'tick v1' }).first().waitFor({ timeout: 30_000 });
    const lastTick = async (): Promise<number> =>
      Math.max(
        0,
        ...(await page.locator('.logs li', { hasText: 'tick v1' }).allTextContents()).map((t) =>
          Number(/tick v1 (\d+)/.exec(t)?.[1] ?? 0),
        ),
      );
    const seen = await lastTick();
    await until('newer log lines', async () => ((await lastTick()) >= seen + 2 ? true : undefined), 30_000);
    await page.getByLabel('Search').fill('hello');
    await page.locator('.logs li', { hasText: 'hello from v1' }).first().waitFor();
    for (const line of await page.locator('.logs li').allTextContents()) expect(line).toContain('hello');
    await shot('07-logs');
    await page.getByLabel('Search').fill('');

    // A custom domain, with its certificate status (a local name: the local CA issues it).
    await page.getByRole('link', { name: 'Domains' }).click();
    await page.getByLabel('Hostname').fill(`www.${app}.localhost`);
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByRole('row', { name: new RegExp(`www\\.${app}\\.localhost`) }).waitFor();

    for (const [tab, name] of [
      ['Scale & env', '08-scale-env'],
      ['Secrets', '09-secrets'],
      ['Domains', '10-domains'],
    ] as const) {
      await page.getByRole('link', { name: tab }).click();
      await page.locator('.panel h2').first().waitFor();
      await shot(name);
    }

    // Metrics from the API: the requests sent through the edge above (and these) show as a total and a chart.
    for (let i = 0; i < 5; i++) expect(await edge()).toBe('200 v1\n');
    await page.getByRole('link', { name: 'Metrics' }).click();
    await page.getByRole('heading', { name: 'Metrics' }).waitFor();
    const requestsTotal = page.locator('[data-metric="requests-total"]');
    await until(
      'the edge-reported requests in the Metrics tab (it refreshes every 10 s)',
      async () => (Number((await requestsTotal.textContent())?.replace(/,/g, '')) >= 5 ? true : undefined),
      45_000,
    );
    const requestsChart = page.locator('figure.chart', { hasText: 'Requests per minute' });
    // 60 one-minute steps for the last hour, some of them above zero.
    const line = (await requestsChart.locator('path.line').getAttribute('d')) ?? '';
    expect(line.split('L')).toHaveLength(60);
    expect(await requestsChart.locator('.legend').textContent()).toMatch(/requests: [\d.]+ req\/min/);
    await page
      .locator('figure.chart', { hasText: 'Latency at the edge' })
      // A line, or a dot for a single minute with requests.
      .locator('path.line, circle.dot')
      .first()
      // A flat line has no height, so Playwright calls it hidden: attached is what it can tell.
      .waitFor({ state: 'attached' });
    // The instance's memory as its node measures it (sampled with each agent pass, every 10 s).
    const memoryLegend = page
      .locator('figure.chart', { hasText: 'Memory of all instances' })
      .locator('.legend');
    await until(
      "the instance's memory in the Metrics tab",
      async () => {
        const mib = Number(/memory: ([\d.]+) MiB/.exec((await memoryLegend.textContent()) ?? '')?.[1] ?? 0);
        return mib > 0 ? true : undefined;
      },
      45_000,
    );
    await page.getByLabel('Window').selectOption('6h');
    await until(
      'the 6-hour window',
      async () =>
        ((await requestsChart.locator('path.line').getAttribute('d')) ?? '').split('L').length === 72
          ? true
          : undefined,
      15_000,
    );
    expect(Number((await requestsTotal.textContent())?.replace(/,/g, ''))).toBeGreaterThanOrEqual(5);
    await page.getByLabel('Window').selectOption('1h');
    await shot('11-metrics');
    // A secret's value is write-only: after saving, only its name and version show.
    await page.getByRole('link', { name: 'Secrets' }).click();
    await page.getByLabel('Name').fill('API_KEY');
    await page.getByLabel('Value').fill('s3cret-value');
    await page.getByRole('button', { name: 'Save secret' }).click();
    await page.getByText('API_KEY saved (version 1)').waitFor();
    expect(await page.content()).not.toContain('s3cret-value');

    // The apps list with status and URL.
    await page.getByRole('link', { name: 'Apps', exact: true }).click();
    await page
      .getByRole('row', { name: new RegExp(app) })
      .getByText('running')
      .waitFor();
    // Its URL: the custom domain added above, or the default APP.localhost.
    await expect(
      page
        .getByRole('row', { name: new RegExp(app) })
        .getByRole('link', { name: new RegExp(`^https?://(www\\.)?${app}\\.localhost$`) })
        .count(),
    ).resolves.toBe(1);
    await shot('12-apps');

    // Nodes, with the exact command for a new one.
    await page.getByRole('link', { name: 'Nodes' }).click();
    await page.locator('[data-status="ready"]').first().waitFor();
    await page.getByRole('button', { name: 'Create join token' }).click();
    await expect(page.locator('.shown-once pre').textContent()).resolves.toMatch(
      new RegExp(`^shellwego agent --join ${url.replace(/[.]/g, '\\.')} --token \\S+$`),
    );
    await shot('13-nodes');

    await page.getByRole('link', { name: 'Members' }).click();
    await page.getByRole('row', { name: /admin@shellwego\.local/ }).waitFor();
    await shot('14-members');
    // A second organization: the header's switcher appears and switches the pages.
    await page.getByLabel('Name').fill(`${app}-team`);
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.getByLabel('Organization').waitFor();
    await page.getByRole('heading', { name: `Members of ${app}-team` }).waitFor();
    await page.getByLabel('Organization').selectOption({ label: 'main (owner)' });
    await page.getByRole('heading', { name: 'Members of main' }).waitFor();

    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.getByLabel('Name').fill('ci');
    await page.getByRole('button', { name: 'Create token' }).click();
    await expect(page.locator('.shown-once pre').textContent()).resolves.toMatch(/^swg_/);
    await shot('15-tokens');

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.locator('[data-audit-ok="true"]').waitFor();
    await shot('16-audit');

    // White-label: the operator edits branding.yml; the next page load (or the next poll) shows it.
    await writeFile(
      join(dir, 'logo.svg'),
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="5" fill="#fff"/></svg>',
    );
    await writeFile(
      join(dir, 'branding.yml'),
      'name: Acme Cloud\nlogo: logo.svg\nfavicon: logo.svg\nprimary_color: "#b91c1c"\nfont: Georgia, serif\nfooter: Acme Cloud Ltd, hosting since 2026\n',
    );
    await page.getByRole('link', { name: 'Apps', exact: true }).click();
    await page.reload();
    await page.getByRole('heading', { name: 'Apps' }).waitFor();
    await until(
      'the branded title',
      async () => ((await page.title()) === 'Apps · Acme Cloud' ? true : undefined),
      15_000,
    );
    expect(
      await page.evaluate('getComputedStyle(document.querySelector("header.top")).backgroundColor'),
    ).toBe('rgb(185, 28, 28)');
    expect(await page.evaluate('getComputedStyle(document.documentElement).fontFamily')).toMatch(/^Georgia/);
    await page.getByText('Acme Cloud Ltd, hosting since 2026').waitFor();
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toMatch(
      /^\/v1\/branding\/favicon\?v=/,
    );
    await page.locator('header img.logo').waitFor();
    await shot('17-branded');

    // Phone width: nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: app, exact: true }).click();
    await page.locator('h1 [data-status="running"]').waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await shot('18-phone-app');

    // The app itself, in the browser: APP.localhost resolves to this machine.
    const appPage = await page.context().newPage();
    const res = await appPage.goto(`http://${app}.localhost:${httpPort}/`);
    expect(res?.status()).toBe(200);
    expect(await appPage.textContent('body')).toBe('v1\n');
    await appPage.close();

    expect(consoleErrors).toEqual([]);
  }, 600_000);
});
