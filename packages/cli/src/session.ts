import { createClient } from '@shellwego/api-client';
import type { ApiClient } from '@shellwego/api-client';
import { configPath, readSession, writeSession } from './config-file.js';
import { CliError } from './errors.js';
import type { Io } from './io.js';

export function normalizeUrl(raw: string, field = 'url'): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError('VALIDATION_FAILED', `${field}: "${raw}" is not an http:// or https:// URL`, {
      field,
    });
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * A client for the server the user logged in to. SHELLWEGO_URL and SHELLWEGO_TOKEN override the saved
 * session; the saved tokens are only ever sent to the URL they were issued by, and refreshed ones are
 * saved back.
 */
export async function openClient(io: Io): Promise<ApiClient> {
  return (await openSession(io)).client;
}

/** The client and the URL of the server it talks to. */
export async function openSession(io: Io): Promise<{ client: ApiClient; url: string }> {
  const path = configPath(io);
  const saved = await readSession(path);
  const envUrl = io.env.SHELLWEGO_URL || undefined;
  const envToken = io.env.SHELLWEGO_TOKEN || undefined;
  const url = envUrl === undefined ? saved?.url : normalizeUrl(envUrl, 'SHELLWEGO_URL');
  if (url === undefined) {
    throw new CliError('NOT_LOGGED_IN', 'not logged in', {
      hint: 'run `shellwego login --url URL --email E`, or set SHELLWEGO_URL and SHELLWEGO_TOKEN',
    });
  }
  if (envToken !== undefined) return { client: createClient({ baseUrl: url, token: envToken }), url };
  if (saved === null || normalizeUrl(saved.url) !== url) {
    throw new CliError('NOT_LOGGED_IN', `not logged in to ${url}`, {
      hint: `run \`shellwego login --url ${url} --email E\`, or set SHELLWEGO_TOKEN`,
    });
  }
  const client = createClient({
    baseUrl: url,
    token: saved.access_token,
    refreshToken: saved.refresh_token,
    onTokens: (pair) =>
      writeSession(path, {
        url: saved.url,
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
      }),
  });
  return { client, url };
}
