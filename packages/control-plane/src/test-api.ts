import { afterAll, beforeAll } from 'vitest';
import { request, startTestControlPlane } from '@shellwego/testkit';
import type { TestControlPlane, TestResponse } from '@shellwego/testkit';
import type { ControlPlaneOptions } from './config.js';

export interface Api {
  cp: TestControlPlane;
  /** The first admin's access token. */
  token: string;
  call(
    method: string,
    path: string,
    opts?: { token?: string | null; body?: unknown; rawBody?: string },
  ): Promise<TestResponse>;
  /** Signs a new user up into the admin's org with `role` and returns their access token. */
  member(
    role: 'owner' | 'admin' | 'developer' | 'viewer',
  ): Promise<{ token: string; email: string; userId: string }>;
}

let counter = 0;
export function uniq(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Starts one control plane for a describe block (beforeAll) and stops it afterwards. */
export function useApi(
  databaseUrl: () => Promise<string | undefined>,
  options: Partial<ControlPlaneOptions> = {},
  injected: { now?: () => Date } = {},
): Api {
  const api = {} as Api;
  beforeAll(async () => {
    const url = await databaseUrl();
    const cp = await startTestControlPlane({ ...options, ...(url ? { databaseUrl: url } : {}) }, injected);
    api.cp = cp;
    api.token = await cp.adminToken();
    api.call = (method, path, opts = {}) =>
      request(cp.url, method, path, {
        ...(opts.token === null ? {} : { token: opts.token ?? api.token }),
        ...(opts.body === undefined ? {} : { body: opts.body }),
        ...(opts.rawBody === undefined ? {} : { rawBody: opts.rawBody }),
      });
    api.member = async (role) => {
      const email = `${uniq('m')}@example.com`;
      const inv = await api.call('POST', '/v1/invitations', { body: { email, org: cp.admin.org, role } });
      if (inv.status !== 201) throw new Error(`invite failed: ${JSON.stringify(inv.body)}`);
      const token = (inv.body as { token: string }).token;
      const res = await api.call('POST', '/v1/auth/signup', {
        token: null,
        body: { email, password: 'correct horse battery', invitation: token },
      });
      if (res.status !== 201) throw new Error(`signup failed: ${JSON.stringify(res.body)}`);
      const body = res.body as { user: { id: string }; tokens: { access_token: string } };
      return { token: body.tokens.access_token, email, userId: body.user.id };
    };
  });
  afterAll(async () => {
    await api.cp?.close();
  });
  return api;
}
