import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import type { ApiClient, Me } from '@shellwego/api-client';
import { applyBranding } from './lib/apply-branding.js';
import { defaultBranding } from './lib/branding.js';
import type { Branding } from './lib/branding.js';
import { useInterval } from './lib/hooks.js';
import { Link, matchPath, navigate, usePath } from './lib/router.js';
import {
  fetchBranding,
  isSessionOver,
  loadOrg,
  loadSession,
  makeClient,
  saveOrg,
  saveSession,
} from './lib/session.js';
import { SessionContext, TitleContext } from './context.js';
import type { Session } from './context.js';
import { LoginPage } from './pages/login.js';
import { WelcomePage } from './pages/welcome.js';
import { AppsPage } from './pages/apps.js';
import { NewAppPage } from './pages/new-app.js';
import { AppPage } from './pages/app.js';
import { NodesPage } from './pages/nodes.js';
import { MembersPage } from './pages/members.js';
import { TokensPage } from './pages/tokens.js';
import { AuditPage } from './pages/audit.js';
import { ErrorNote, Loading } from './components/ui.js';

/** Branding is polled, so an edit of branding.yml shows in open tabs too. */
const BRANDING_POLL_MS = 10_000;

export function App() {
  const [branding, setBranding] = useState<Branding>(defaultBranding);
  const [page, setPage] = useState<string | null>(null);
  const [client, setClient] = useState<ApiClient>(() => makeClient(loadSession()));
  const [loggedIn, setLoggedIn] = useState(() => loadSession() !== null);
  const [me, setMe] = useState<Me | null>(null);
  const [meError, setMeError] = useState<unknown>(undefined);
  const [orgId, setOrgId] = useState<string | null>(() => loadOrg());
  const [mustChange, setMustChange] = useState(false);
  const path = usePath();

  const refreshBranding = useCallback(() => {
    void fetchBranding().then(setBranding);
  }, []);
  useEffect(refreshBranding, [refreshBranding]);
  useInterval(refreshBranding, BRANDING_POLL_MS);
  useEffect(() => applyBranding(branding, page), [branding, page]);

  const logout = useCallback(() => {
    saveSession(null);
    setClient(makeClient(null));
    setLoggedIn(false);
    setMe(null);
    navigate('/login', { replace: true });
  }, []);

  useEffect(() => {
    if (!loggedIn) return;
    let live = true;
    Promise.all([client.me(), client.password.status()]).then(
      ([m, pw]) => {
        if (!live) return;
        setMe(m);
        setMustChange(pw.must_change);
        setMeError(undefined);
      },
      (e: unknown) => {
        if (!live) return;
        if (isSessionOver(e)) logout();
        else setMeError(e);
      },
    );
    return () => {
      live = false;
    };
  }, [client, loggedIn, logout]);

  const onLoggedIn = useCallback((next: ApiClient) => {
    setClient(next);
    setMe(null);
    setLoggedIn(true);
    navigate('/apps', { replace: true });
  }, []);

  const session = useMemo<Session | null>(() => {
    if (!me) return null;
    const org = me.memberships.find((m) => m.org_id === orgId) ?? me.memberships[0];
    if (!org) return null;
    return {
      client,
      me,
      org,
      switchOrg: (id: string) => {
        saveOrg(id);
        setOrgId(id);
      },
      isAdmin: me.is_platform_admin || org.role === 'owner' || org.role === 'admin',
      branding,
      logout,
    };
  }, [me, orgId, client, branding, logout]);

  if (!loggedIn || path === '/login') {
    return (
      <TitleContext.Provider value={setPage}>
        <Frame branding={branding}>
          <LoginPage onLoggedIn={onLoggedIn} />
        </Frame>
      </TitleContext.Provider>
    );
  }
  if (!session) {
    return (
      <Frame branding={branding}>
        {meError !== undefined ? <ErrorNote error={meError} /> : <Loading what="your account" />}
        {me && me.memberships.length === 0 ? (
          <p>You are not a member of any organization yet. Ask an administrator to add you.</p>
        ) : null}
      </Frame>
    );
  }
  const welcome = mustChange || path === '/welcome';
  return (
    <TitleContext.Provider value={setPage}>
      <SessionContext.Provider value={session}>
        <Frame branding={branding} session={welcome ? undefined : session} path={path}>
          {welcome ? (
            <WelcomePage
              onDone={() => {
                setMustChange(false);
                navigate('/apps', { replace: true });
              }}
            />
          ) : (
            <Routes path={path} />
          )}
        </Frame>
      </SessionContext.Provider>
    </TitleContext.Provider>
  );
}

function Routes({ path }: { path: string }) {
  if (path === '/' || path === '/apps') return <AppsPage />;
  if (path === '/apps/new') return <NewAppPage />;
  const app = matchPath('/apps/:app/:tab?', path);
  if (app?.app) return <AppPage name={app.app} tab={app.tab ?? 'overview'} />;
  if (path === '/nodes') return <NodesPage />;
  if (path === '/members') return <MembersPage />;
  if (path === '/tokens') return <TokensPage />;
  if (path === '/audit') return <AuditPage />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link to="/apps">Go to your apps</Link>.
      </p>
    </section>
  );
}

const nav: readonly { to: string; label: string; admin?: boolean }[] = [
  { to: '/apps', label: 'Apps' },
  { to: '/nodes', label: 'Nodes', admin: true },
  { to: '/members', label: 'Members' },
  { to: '/tokens', label: 'API tokens' },
  { to: '/audit', label: 'Audit log', admin: true },
];

function Frame({
  branding,
  session,
  path,
  children,
}: {
  branding: Branding;
  session?: Session | undefined;
  path?: string;
  children: ReactNode;
}) {
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <div className="brand">
          {branding.logo_url ? <img src={branding.logo_url} alt="" className="logo" /> : null}
          <span className="brand-name">{branding.name}</span>
        </div>
        {session ? (
          <>
            <OrgSwitcher session={session} />
            <nav aria-label="Main">
              <ul>
                {nav
                  .filter((n) => !n.admin || session.isAdmin)
                  .map((n) => {
                    const current = path === n.to || (n.to === '/apps' && (path ?? '').startsWith('/apps'));
                    return (
                      <li key={n.to}>
                        <Link to={n.to} aria-current={current ? 'page' : undefined}>
                          {n.label}
                        </Link>
                      </li>
                    );
                  })}
              </ul>
            </nav>
            <div className="account">
              <span className="muted" title={session.me.email}>
                {session.me.email}
              </span>
              <button type="button" className="secondary" onClick={session.logout}>
                Log out
              </button>
            </div>
          </>
        ) : null}
      </header>
      {session?.me.is_platform_admin && branding.error ? (
        <p className="note note-warn banner" role="alert">
          branding.yml was refused, so the previous branding stays: {branding.error}
        </p>
      ) : null}
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <footer className="foot">{branding.footer ?? `Powered by ${branding.name}`}</footer>
    </>
  );
}

function OrgSwitcher({ session }: { session: Session }) {
  const { me, org, switchOrg } = session;
  if (me.memberships.length < 2)
    return (
      <p className="org">
        <span className="visually-hidden">Organization: </span>
        {org.org_name} <span className="muted">({org.role})</span>
      </p>
    );
  return (
    <div className="org">
      <label htmlFor="org-switch" className="visually-hidden">
        Organization
      </label>
      <select id="org-switch" value={org.org_id} onChange={(e) => switchOrg(e.target.value)}>
        {me.memberships.map((m) => (
          <option key={m.org_id} value={m.org_id}>
            {m.org_name} ({m.role})
          </option>
        ))}
      </select>
    </div>
  );
}
