import type { Generated } from 'kysely';

/** Row types, as both SQLite and PostgreSQL store them: timestamps as RFC 3339 text, JSON as text. */
export interface OrgsTable {
  id: string;
  name: string;
  created_at: string;
  audit_seq: number;
  audit_head: string;
}
export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  is_platform_admin: number;
  created_at: string;
}
export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: string;
  created_at: string;
}
export interface InvitationsTable {
  id: string;
  org_id: string;
  email: string;
  role: string;
  token_hash: string;
  expires_at: string;
  accepted_at: string | null;
  created_by: string;
  created_at: string;
}
export interface RefreshTokensTable {
  id: string;
  user_id: string;
  token_hash: string;
  family_id: string;
  expires_at: string;
  revoked_at: string | null;
  created_at: string;
}
export interface ApiTokensTable {
  id: string;
  user_id: string;
  org_id: string;
  name: string;
  token_hash: string;
  scopes: string;
  expires_at: string | null;
  last_used_at: string | null;
  created_at: string;
}
export interface AppsTable {
  id: string;
  org_id: string;
  name: string;
  image: string | null;
  runtime: string;
  env: string;
  memory_bytes: number;
  cpu_milli: number;
  replicas: number;
  port: number;
  hc_path: string;
  hc_interval_ms: number;
  hc_timeout_ms: number;
  status: string;
  created_at: string;
  updated_at: string;
  /** The release that serves (the last one deployed successfully). */
  current_release_id?: string | null;
  /** The last release version handed out. */
  release_seq?: number;
}
export interface SecretsTable {
  id: string;
  org_id: string;
  app_id: string;
  name: string;
  version: number;
  ciphertext: string;
  created_at: string;
  updated_at: string;
}
export interface DomainsTable {
  id: string;
  org_id: string;
  app_id: string;
  hostname: string;
  tls_status: string;
  last_acme_error: string | null;
  created_at: string;
}
export interface VolumesTable {
  id: string;
  org_id: string;
  app_id: string | null;
  name: string;
  size_bytes: number;
  mount_path: string | null;
  status: string;
  created_at: string;
  /** The node that holds its data (where its app's first instance with it ran); null until then. */
  node_id: string | null;
}
export interface NodesTable {
  id: string;
  org_id: string;
  name: string;
  status: string;
  runtimes: string;
  zone: string | null;
  memory_bytes: number;
  cpu_milli: number;
  disk_bytes: number;
  last_heartbeat_at: string | null;
  created_at: string;
  /** SHA-256 of the node credential (`swgn_…`); null for nodes recorded without the protocol. */
  credential_hash?: string | null;
  /** Revision of the node's desired state, bumped on every change of it. */
  revision?: number;
  /** The last status report, as JSON text. */
  actual?: string | null;
  /** 1: takes the apps of every organization (the operator's shared pool). */
  shared?: number;
}
export interface JoinTokensTable {
  id: string;
  org_id: string;
  token_hash: string;
  zone: string | null;
  shared?: number;
  expires_at: string;
  created_by: string;
  created_at: string;
}
export interface AuditLogTable {
  org_id: string;
  seq: number;
  actor: string;
  action: string;
  resource: string;
  resource_id: string;
  data: string;
  at: string;
  prev_hash: string;
  hash: string;
}
export interface SettingsTable {
  key: string;
  value: string;
  created_at: Generated<string>;
}

export interface ReleasesTable {
  id: string;
  org_id: string;
  app_id: string;
  version: number;
  image: string;
  image_digest: string | null;
  /** ReleaseSpec as JSON. */
  spec: string;
  created_by: string;
  created_at: string;
}
export interface DeploymentsTable {
  id: string;
  org_id: string;
  app_id: string;
  release_id: string;
  from_release_id: string | null;
  strategy: string;
  status: string;
  reason: string | null;
  /** JSON array of {at, status, message}. */
  steps: string;
  deadline_at: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}
export interface InstancesTable {
  id: string;
  org_id: string;
  app_id: string;
  release_id: string;
  node_id: string;
  /** `running` while the control plane wants it; `stopped` once it should leave its node. */
  desired: string;
  /** 1 while the edge may send it traffic. */
  routed: number;
  unrouted_at: string | null;
  state: string;
  health: string;
  address: string | null;
  message: string | null;
  created_at: string;
  updated_at: string;
}
export interface EventsTable {
  seq: Generated<number>;
  org_id: string;
  type: string;
  resource: string;
  resource_id: string;
  data: string;
  at: string;
}

export interface CertificatesTable {
  hostname: string;
  domain_id: string | null;
  /** `local-ca` or `acme`. */
  issuer: string;
  /** The leaf first, then its chain. */
  cert_pem: string;
  /** The private key (PKCS#8 PEM), sealed with the Envelope. */
  key_sealed: string;
  not_after: string;
  created_at: string;
  updated_at: string;
}

export interface ArtifactsTable {
  org_id: string;
  /** sha256:<hex> of content. */
  digest: string;
  kind: string;
  size: number;
  content: Buffer;
  created_at: string;
}

/** lat_0 … lat_12: requests per latency bucket (LATENCY_BUCKETS_MS, then the overflow bucket). */
export type LatencyColumn = `lat_${0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12}`;
export type AppMetricsTable = {
  app_id: string;
  /** Minutes since the epoch. */
  minute: number;
  /** `edge` (traffic, added up) or `node:<id>` (memory and CPU, replaced). */
  source: string;
  requests: number;
  errors: number;
  duration_ms_sum: number;
  memory_bytes: number | null;
  cpu_milli: number | null;
} & Record<LatencyColumn, number>;

export interface Database {
  orgs: OrgsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  invitations: InvitationsTable;
  refresh_tokens: RefreshTokensTable;
  api_tokens: ApiTokensTable;
  apps: AppsTable;
  secrets: SecretsTable;
  domains: DomainsTable;
  volumes: VolumesTable;
  nodes: NodesTable;
  join_tokens: JoinTokensTable;
  audit_log: AuditLogTable;
  settings: SettingsTable;
  releases: ReleasesTable;
  deployments: DeploymentsTable;
  instances: InstancesTable;
  events: EventsTable;
  certificates: CertificatesTable;
  artifacts: ArtifactsTable;
  app_metrics: AppMetricsTable;
}
