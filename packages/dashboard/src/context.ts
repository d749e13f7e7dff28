import { createContext, useContext, useEffect } from 'react';
import type { ApiClient, Me } from '@shellwego/api-client';
import type { Branding } from './lib/branding.js';

export type Membership = Me['memberships'][number];

export interface Session {
  client: ApiClient;
  me: Me;
  /** The organization the pages show; the switcher in the header changes it. */
  org: Membership;
  switchOrg: (orgId: string) => void;
  /** Owner or admin of the current organization, or a platform admin. */
  isAdmin: boolean;
  branding: Branding;
  logout: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a logged-in page');
  return s;
}

export const TitleContext = createContext<(page: string | null) => void>(() => undefined);

/** Sets the page's part of the document title ("Apps · Brand"). */
export function usePageTitle(page: string | null): void {
  const set = useContext(TitleContext);
  useEffect(() => set(page), [set, page]);
}
