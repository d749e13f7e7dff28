import { startControlPlane } from '@shellwego/control-plane';
import type { ControlPlane, ControlPlaneOptions } from '@shellwego/control-plane';
import { makeTempDir, removeDir } from './temp.js';

export interface TestControlPlane {
  url: string;
  dataDir: string;
  /** The first admin, created on this fresh store. */
  admin: { email: string; password: string; org: string };
  controlPlane: ControlPlane;
  /** Logs in and returns an access token. */
  login(email: string, password: string): Promise<string>;
  /** An access token of the first admin. */
  adminToken(): Promise<string>;
  close(): Promise<void>;
}

/**
 * A real control plane in this process on a fresh data dir and a free port: SQLite by default,
 * PostgreSQL when `databaseUrl` is given. Rate limiting is off unless asked for.
 */
export async function startTestControlPlane(
  options: Partial<ControlPlaneOptions> = {},
  injected: {
    now?: () => Date;
    rollout?: { sweepMs?: number; drainMs?: number; healthGraceMs?: number; restartGraceMs?: number };
  } = {},
): Promise<TestControlPlane> {
  const dataDir = options.dataDir ?? (await makeTempDir('swg-cp-'));
  const cp = await startControlPlane(
    {
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      rateLimit: null,
      ...options,
      dataDir,
    },
    // Faster sweeps and drains than production: tests wait on rollouts.
    { ...injected, rollout: { sweepMs: 300, drainMs: 300, ...injected.rollout } },
  );
  if (!cp.firstAdmin) {
    await cp.close();
    throw new Error('startTestControlPlane: the store was not fresh (no first admin was created)');
  }
  const admin = cp.firstAdmin;
  let cached: string | undefined;
  const login = async (email: string, password: string): Promise<string> => {
    const res = await request(cp.url, 'POST', '/v1/auth/login', { body: { email, password } });
    if (res.status !== 200)
      throw new Error(`login of ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return (res.body as { access_token: string }).access_token;
  };
  return {
    url: cp.url,
    dataDir,
    admin,
    controlPlane: cp,
    login,
    adminToken: async () => (cached ??= await login(admin.email, admin.password)),
    close: async () => {
      await cp.close();
      if (options.dataDir === undefined) await removeDir(dataDir);
    },
  };
}

export interface TestResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw text when the body is not JSON. */
  body: unknown;
}

/** One HTTP call with JSON in and out; `rawBody` sends bytes as they are. */
export async function request(
  baseUrl: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<TestResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(new URL(path, baseUrl), { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
