import { ApiError, createClient } from '@shellwego/api-client';
import type { ApiClient, TokenPair } from '@shellwego/api-client';
import { defaultBranding, normalizeBranding } from './branding.js';
import type { Branding } from './branding.js';

// The session lives in localStorage so a reload keeps it; logging out forgets it.

const SESSION_KEY = 'shellwego.session';
const ORG_KEY = 'shellwego.org';

export interface StoredSession {
  access_token: string;
  refresh_token: string;
}

export function loadSession(): StoredSession | null {
  try {
    const raw = JSON.parse(window.localStorage.getItem(SESSION_KEY) ?? 'null') as unknown;
    if (typeof raw !== 'object' || raw === null) return null;
    const o = raw as Record<string, unknown>;
    if (typeof o.access_token !== 'string' || typeof o.refresh_token !== 'string') return null;
    return { access_token: o.access_token, refresh_token: o.refresh_token };
  } catch {
    return null;
  }
}

export function saveSession(pair: TokenPair | null): void {
  if (pair === null) window.localStorage.removeItem(SESSION_KEY);
  else
    window.localStorage.setItem(
      SESSION_KEY,
      JSON.stringify({ access_token: pair.access_token, refresh_token: pair.refresh_token }),
    );
}

export function loadOrg(): string | null {
  return window.localStorage.getItem(ORG_KEY);
}

export function saveOrg(orgId: string): void {
  window.localStorage.setItem(ORG_KEY, orgId);
}

export function makeClient(session: StoredSession | null): ApiClient {
  return createClient({
    baseUrl: window.location.origin,
    token: session?.access_token,
    refreshToken: session?.refresh_token,
    onTokens: (pair) => saveSession(pair),
  });
}

/** A refresh token that no longer works: the user must log in again. */
export function isSessionOver(e: unknown): boolean {
  return e instanceof ApiError && (e.status === 401 || e.code === 'UNAUTHENTICATED');
}

/** The message to show for a failed call: the server's sentence, with its hint. */
export function messageOf(e: unknown): string {
  if (e instanceof ApiError) return e.hint ? `${e.message} (${e.hint})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

export async function fetchBranding(): Promise<Branding> {
  try {
    const res = await fetch('/v1/branding', { headers: { accept: 'application/json' } });
    if (!res.ok) return defaultBranding;
    return normalizeBranding(await res.json());
  } catch {
    return defaultBranding;
  }
}
