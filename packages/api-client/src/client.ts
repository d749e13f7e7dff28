import { Transport, path } from './transport.js';
import { ApiError, clientErrorCodes } from './errors.js';
import type { ClientOptions } from './transport.js';
import type {
  Artifact,
  ArtifactContent,
  Branding,
  PasswordChange,
  PasswordStatus,
  ApiToken,
  ApiTokenCreate,
  ApiTokenCreated,
  App,
  AppCreate,
  AppListQuery,
  AppLogsQuery,
  AppMetrics,
  AppMetricsQuery,
  AppPatch,
  AuditListQuery,
  AuditPage,
  AuditVerification,
  AuditVerifyQuery,
  Domain,
  Health,
  Invitation,
  InvitationCreate,
  Items,
  LoginRequest,
  Me,
  Member,
  MemberAdd,
  Node,
  JoinToken,
  JoinTokenCreate,
  JoinTokenCreated,
  NodeRegister,
  NodeRegistered,
  NodeStatusReport,
  NodeAck,
  DesiredState,
  Deployment,
  DeploymentCreate,
  EdgeRouteTable,
  EdgeMetricsReport,
  EdgeCertificateList,
  PlatformEvent,
  LogLine,
  Release,
  SeedDeploymentCreate,
  OpenApiDocument,
  Org,
  OrgCreate,
  Page,
  Role,
  Secret,
  SignupRequest,
  SignupResponse,
  TokenPair,
  Volume,
  VolumeCreate,
} from './types.js';

/**
 * A typed client of the ShellWeGo API, one method per route (grouped as the routes are tagged).
 * Path arguments take a name or an id; object arguments are the request body as documented.
 * Every method returns the response body, or void for 204, and throws ApiError otherwise.
 */
export function createClient(options: ClientOptions) {
  const t = new Transport(options);
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const baseUrl = options.baseUrl.replace(/\/+$/, '');

  return {
    /** The credentials in use now (after any login or refresh). */
    credentials: () => t.credentials(),

    auth: {
      /** Logs in; the client uses the new pair from now on (and hands it to onTokens). */
      login: async (body: LoginRequest): Promise<TokenPair> => {
        const pair = await t.send<TokenPair>({ method: 'POST', path: '/v1/auth/login', body, auth: false });
        await t.adopt(pair);
        return pair;
      },
      /** Rotates the configured refresh token, or `refreshToken` when given; adopts the new pair. */
      refresh: async (refreshToken?: string): Promise<TokenPair> => {
        const body = { refresh_token: refreshToken ?? t.credentials().refreshToken ?? '' };
        const pair = await t.send<TokenPair>({ method: 'POST', path: '/v1/auth/refresh', body, auth: false });
        await t.adopt(pair);
        return pair;
      },
      /** Creates an account and adopts its tokens, as a login would. */
      signup: async (body: SignupRequest): Promise<SignupResponse> => {
        const res = await t.send<SignupResponse>({
          method: 'POST',
          path: '/v1/auth/signup',
          body,
          auth: false,
        });
        await t.adopt(res.tokens);
        return res;
      },
    },

    me: (): Promise<Me> => t.send({ method: 'GET', path: '/v1/me', auth: true }),

    /** The operator's branding (no credentials needed). */
    branding: (): Promise<Branding> => t.send({ method: 'GET', path: '/v1/branding', auth: false }),

    password: {
      /** Whether the caller still has the password printed at the first start. */
      status: (): Promise<PasswordStatus> => t.send({ method: 'GET', path: '/v1/me/password', auth: true }),
      /** Ends every session of the user and adopts the new one the answer carries, as a login would. */
      change: async (body: PasswordChange): Promise<TokenPair> => {
        const pair = await t.send<TokenPair>({ method: 'POST', path: '/v1/me/password', body, auth: true });
        await t.adopt(pair);
        return pair;
      },
    },

    tokens: {
      /** The `token` of the result is shown only this once. */
      create: (body: ApiTokenCreate): Promise<ApiTokenCreated> =>
        t.send({ method: 'POST', path: '/v1/tokens', body, auth: true }),
      list: (): Promise<Items<ApiToken>> => t.send({ method: 'GET', path: '/v1/tokens', auth: true }),
      revoke: (id: string): Promise<void> =>
        t.send({ method: 'DELETE', path: path`/v1/tokens/${id}`, auth: true }),
    },

    orgs: {
      create: (body: OrgCreate): Promise<Org> =>
        t.send({ method: 'POST', path: '/v1/orgs', body, auth: true }),
      list: (): Promise<Items<Org>> => t.send({ method: 'GET', path: '/v1/orgs', auth: true }),
      get: (org: string): Promise<Org> => t.send({ method: 'GET', path: path`/v1/orgs/${org}`, auth: true }),
      members: (org: string): Promise<Items<Member>> =>
        t.send({ method: 'GET', path: path`/v1/orgs/${org}/members`, auth: true }),
      addMember: (org: string, body: MemberAdd): Promise<Member> =>
        t.send({ method: 'POST', path: path`/v1/orgs/${org}/members`, body, auth: true }),
      setRole: (org: string, userId: string, role: Role): Promise<Member> =>
        t.send({
          method: 'PATCH',
          path: path`/v1/orgs/${org}/members/${userId}`,
          body: { role },
          auth: true,
        }),
      removeMember: (org: string, userId: string): Promise<void> =>
        t.send({ method: 'DELETE', path: path`/v1/orgs/${org}/members/${userId}`, auth: true }),
    },

    invitations: {
      /** The `token` of the result lets the invitee sign up; it is shown only this once. */
      create: (body: InvitationCreate): Promise<Invitation> =>
        t.send({ method: 'POST', path: '/v1/invitations', body, auth: true }),
    },

    apps: {
      create: (body: AppCreate): Promise<App> =>
        t.send({ method: 'POST', path: '/v1/apps', body, auth: true }),
      /** One page; see allPages() for every app. */
      list: (query: AppListQuery = {}): Promise<Page<App>> =>
        t.send({ method: 'GET', path: '/v1/apps', query: { ...query }, auth: true }),
      get: (app: string): Promise<App> => t.send({ method: 'GET', path: path`/v1/apps/${app}`, auth: true }),
      update: (app: string, body: AppPatch): Promise<App> =>
        t.send({ method: 'PATCH', path: path`/v1/apps/${app}`, body, auth: true }),
      delete: (app: string): Promise<void> =>
        t.send({ method: 'DELETE', path: path`/v1/apps/${app}`, auth: true }),
      /** Starts a deployment (202); follow it with deployments.get or the events stream. */
      deploy: (app: string, body: DeploymentCreate = {}): Promise<Deployment> =>
        t.send({ method: 'POST', path: path`/v1/apps/${app}/deployments`, body, auth: true }),
      /** Uploads a WebAssembly module for a wasm app; deploy it with {image: artifact.digest, runtime: 'wasm'}. */
      uploadArtifact: (app: string, module: Uint8Array): Promise<Artifact> =>
        t.send({
          method: 'POST',
          path: path`/v1/apps/${app}/artifacts`,
          body: { content_base64: base64(module) },
          auth: true,
        }),
      deployments: (app: string): Promise<Items<Deployment>> =>
        t.send({ method: 'GET', path: path`/v1/apps/${app}/deployments`, auth: true }),
      releases: (app: string): Promise<Items<Release>> =>
        t.send({ method: 'GET', path: path`/v1/apps/${app}/releases`, auth: true }),
      /**
       * The last lines of each running instance (the server waits at most ~3 s for its nodes); live lines come over
       * the WebSocket at the same path with `?follow=true`.
       */
      logs: (app: string, query: AppLogsQuery = {}): Promise<Items<LogLine>> =>
        t.send({ method: 'GET', path: path`/v1/apps/${app}/logs`, query: { ...query }, auth: true }),
      /** Requests, 5xx, latency p50/p95 (from the edges) and memory/CPU (from the nodes) per step of `window`. */
      metrics: (app: string, query: AppMetricsQuery = {}): Promise<AppMetrics> =>
        t.send({ method: 'GET', path: path`/v1/apps/${app}/metrics`, query: { ...query }, auth: true }),
      /** Deploys release `release` again (default: the one before the current). */
      rollback: (app: string, release?: number): Promise<Deployment> =>
        t.send({
          method: 'POST',
          path: path`/v1/apps/${app}/rollback`,
          body: release === undefined ? {} : { release },
          auth: true,
        }),
    },

    deployments: {
      /** The seed's form of a deploy: `{app_id, image, resources, env}`. */
      create: (body: SeedDeploymentCreate): Promise<Deployment> =>
        t.send({ method: 'POST', path: '/v1/deployments', body, auth: true }),
      get: (id: string): Promise<Deployment> =>
        t.send({ method: 'GET', path: path`/v1/deployments/${id}`, auth: true }),
      cancel: (id: string): Promise<Deployment> =>
        t.send({ method: 'POST', path: path`/v1/deployments/${id}/cancel`, auth: true }),
    },

    /** Stored events after `since`; live ones come over the WebSocket at the same path. */
    events: (since = 0): Promise<Items<PlatformEvent>> =>
      t.send({ method: 'GET', path: '/v1/events', query: { since }, auth: true }),

    /** The edge's route table (platform admins); edges keep the WebSocket at the same path open. */
    edgeRoutes: (): Promise<EdgeRouteTable> => t.send({ method: 'GET', path: '/v1/edge/routes', auth: true }),
    /** An edge's traffic per app since its last accepted report (platform admins); 204. */
    edgeMetrics: (report: EdgeMetricsReport): Promise<void> =>
      t.send({ method: 'POST', path: '/v1/edge/metrics', body: report, auth: true }),
    /** Every certificate the edges serve, private keys included (platform admins). */
    edgeCertificates: (): Promise<EdgeCertificateList> =>
      t.send({ method: 'GET', path: '/v1/edge/certificates', auth: true }),
    /** The local CA's certificate (PEM text, not JSON, so it can be saved and trusted as it is); no credentials. */
    edgeCaPem: (): Promise<string> =>
      fetchImpl(`${baseUrl}/v1/edge/ca.pem`).then(
        async (res) => {
          const text = await res.text();
          if (!res.ok || !text.startsWith('-----BEGIN CERTIFICATE-----')) {
            throw new ApiError({
              status: res.status,
              code: clientErrorCodes.BAD_RESPONSE,
              message: `GET /v1/edge/ca.pem answered with status ${res.status} and no certificate`,
            });
          }
          return text;
        },
        (e: unknown) => {
          throw new ApiError({
            status: 0,
            code: clientErrorCodes.UNREACHABLE,
            message: `cannot reach ${baseUrl}`,
            cause: e,
          });
        },
      ),

    secrets: {
      /** Sets (or replaces) one secret; the value is write-only. */
      set: (app: string, name: string, value: string): Promise<Secret> =>
        t.send({ method: 'PUT', path: path`/v1/apps/${app}/secrets/${name}`, body: { value }, auth: true }),
      /** Names and versions, never values. */
      list: (app: string): Promise<Items<Secret>> =>
        t.send({ method: 'GET', path: path`/v1/apps/${app}/secrets`, auth: true }),
      unset: (app: string, name: string): Promise<void> =>
        t.send({ method: 'DELETE', path: path`/v1/apps/${app}/secrets/${name}`, auth: true }),
    },

    domains: {
      add: (app: string, hostname: string): Promise<Domain> =>
        t.send({ method: 'POST', path: path`/v1/apps/${app}/domains`, body: { hostname }, auth: true }),
      list: (app: string): Promise<Items<Domain>> =>
        t.send({ method: 'GET', path: path`/v1/apps/${app}/domains`, auth: true }),
      /** `domain` is the hostname or the id. */
      remove: (app: string, domain: string): Promise<void> =>
        t.send({ method: 'DELETE', path: path`/v1/apps/${app}/domains/${domain}`, auth: true }),
    },

    volumes: {
      create: (body: VolumeCreate): Promise<Volume> =>
        t.send({ method: 'POST', path: '/v1/volumes', body, auth: true }),
      list: (): Promise<Items<Volume>> => t.send({ method: 'GET', path: '/v1/volumes', auth: true }),
      get: (volume: string): Promise<Volume> =>
        t.send({ method: 'GET', path: path`/v1/volumes/${volume}`, auth: true }),
      delete: (volume: string): Promise<void> =>
        t.send({ method: 'DELETE', path: path`/v1/volumes/${volume}`, auth: true }),
    },

    nodes: {
      list: (): Promise<Items<Node>> => t.send({ method: 'GET', path: '/v1/nodes', auth: true }),
      get: (node: string): Promise<Node> =>
        t.send({ method: 'GET', path: path`/v1/nodes/${node}`, auth: true }),
      /** Join tokens let a new node register (admins); the token is shown once. */
      joinTokens: {
        create: (input: JoinTokenCreate = {}): Promise<JoinTokenCreated> =>
          t.send({ method: 'POST', path: '/v1/nodes/join-tokens', body: input, auth: true }),
        list: (): Promise<Items<JoinToken>> =>
          t.send({ method: 'GET', path: '/v1/nodes/join-tokens', auth: true }),
        revoke: (id: string): Promise<void> =>
          t.send({ method: 'DELETE', path: path`/v1/nodes/join-tokens/${id}`, auth: true }),
      },
      /** The agent's side: register with a join token, then use the node credential as the token. */
      register: (input: NodeRegister): Promise<NodeRegistered> =>
        t.send({ method: 'POST', path: '/v1/nodes/register', body: input, auth: false }),
      reportStatus: (node: string, report: NodeStatusReport): Promise<NodeAck> =>
        t.send({ method: 'POST', path: path`/v1/nodes/${node}/status`, body: report, auth: true }),
      heartbeat: (node: string): Promise<NodeAck> =>
        t.send({ method: 'POST', path: path`/v1/nodes/${node}/heartbeat`, auth: true }),
      /** Checks the node credential for a log request's path; agents open the WebSocket there to send the lines. */
      logSocket: (node: string, request: string): Promise<void> =>
        t.send({ method: 'GET', path: path`/v1/nodes/${node}/logs/${request}`, auth: true }),
      /** The desired state once; agents keep the WebSocket at the same path open instead. */
      desiredState: (node: string): Promise<DesiredState> =>
        t.send({ method: 'GET', path: path`/v1/nodes/${node}/watch`, auth: true }),
      /** A wasm module a release placed on this node names (base64 in JSON). */
      artifact: (node: string, digest: string): Promise<ArtifactContent> =>
        t.send({ method: 'GET', path: path`/v1/nodes/${node}/artifacts/${digest}`, auth: true }),
    },

    audit: {
      /** One page of entries with the chain head; check it with verifyAuditChain (@shellwego/core/audit). */
      list: (query: AuditListQuery = {}): Promise<AuditPage> =>
        t.send({ method: 'GET', path: '/v1/audit', query: { ...query }, auth: true }),
      /** The server's own check; a client that must not trust the server verifies the entries itself. */
      verify: (query: AuditVerifyQuery = {}): Promise<AuditVerification> =>
        t.send({ method: 'GET', path: '/v1/audit/verify', query: { ...query }, auth: true }),
    },

    health: (): Promise<Health> => t.send({ method: 'GET', path: '/v1/health', auth: false }),
    openapi: (): Promise<OpenApiDocument> => t.send({ method: 'GET', path: '/v1/openapi.json', auth: false }),
  };
}

export type ApiClient = ReturnType<typeof createClient>;

/** Follows `next_cursor` until the last page and returns every item. */
export async function allPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor: string | null }>,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    items.push(...page.items);
    // A server that hands back the cursor it was given would otherwise keep us here forever.
    if (page.next_cursor !== null && page.next_cursor === cursor) break;
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
  return items;
}

/** Base64 without Node's Buffer, so the client also runs in a browser (the dashboard). */
function base64(bytes: Uint8Array): string {
  let binary = '';
  // In slices: String.fromCharCode(...all) would overflow the call stack for a module of some megabytes.
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
