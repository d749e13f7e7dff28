import type { z } from 'zod';
import type { schemas } from '@shellwego/core';

// Requests are what a caller may send (z.input: defaults optional), responses what the server
// returns (z.infer). Both come from the schemas the server validates with, so they cannot drift.

export type LoginRequest = z.input<typeof schemas.loginRequest>;
export type SignupRequest = z.input<typeof schemas.signupRequest>;
export type TokenPair = z.infer<typeof schemas.tokenPair>;
export type SignupResponse = z.infer<typeof schemas.signupResponse>;
export type Me = z.infer<typeof schemas.me>;

/** The route extends tokenCreate with the organization the token is scoped to. */
export type ApiTokenCreate = z.input<typeof schemas.tokenCreate> & { org?: string };
export type ApiToken = z.infer<typeof schemas.apiToken>;
export type ApiTokenCreated = z.infer<typeof schemas.apiTokenCreated>;

export type Role = z.infer<typeof schemas.role>;
export type OrgCreate = z.input<typeof schemas.orgCreate>;
export type Org = z.infer<typeof schemas.org>;
export type MemberAdd = z.input<typeof schemas.memberAdd>;
export type Member = z.infer<typeof schemas.member>;
export type InvitationCreate = z.input<typeof schemas.invitationCreate>;
export type Invitation = z.infer<typeof schemas.invitation>;

export type AppCreate = z.input<typeof schemas.appCreate>;
export type AppPatch = z.input<typeof schemas.appPatch>;
export type App = z.infer<typeof schemas.app>;

export type Secret = z.infer<typeof schemas.secret>;
export type Domain = z.infer<typeof schemas.domain>;
export type VolumeCreate = z.input<typeof schemas.volumeCreate>;
export type Volume = z.infer<typeof schemas.volume>;
export type Node = z.infer<typeof schemas.node>;
export type JoinTokenCreate = z.input<typeof schemas.joinTokenCreate>;
export type JoinToken = z.infer<typeof schemas.joinToken>;
export type JoinTokenCreated = z.infer<typeof schemas.joinTokenCreated>;
export type NodeRegister = z.input<typeof schemas.nodeRegister>;
export type NodeRegistered = z.infer<typeof schemas.nodeRegistered>;
export type NodeStatusReport = z.input<typeof schemas.nodeStatusReport>;
export type NodeAck = z.infer<typeof schemas.nodeAck>;
export type DesiredState = z.infer<typeof schemas.desiredState>;

export type DeploymentCreate = z.input<typeof schemas.deploymentCreate>;
export type SeedDeploymentCreate = z.input<typeof schemas.seedDeploymentCreate>;
export type Deployment = z.infer<typeof schemas.deployment>;
export type Release = z.infer<typeof schemas.release>;
export type Artifact = z.infer<typeof schemas.artifact>;
export type Branding = z.infer<typeof schemas.branding>;
export type PasswordStatus = z.infer<typeof schemas.passwordStatus>;
export type PasswordChange = z.input<typeof schemas.passwordChange>;
export type ArtifactContent = z.infer<typeof schemas.artifactContent>;
export type PlatformEvent = z.infer<typeof schemas.platformEvent>;
export type LogLine = z.infer<typeof schemas.logLine>;
export type EdgeRouteTable = z.infer<typeof schemas.edgeRouteTable>;
export type EdgeCertificateList = z.infer<typeof schemas.edgeCertificateList>;
export type EdgeMetricsReport = z.input<typeof schemas.edgeMetricsReport>;
export type MetricsWindow = z.infer<typeof schemas.metricsWindow>;
export type AppMetrics = z.infer<typeof schemas.appMetrics>;
export type AppMetricsPoint = z.infer<typeof schemas.appMetricsPoint>;

export type AuditEntry = z.infer<typeof schemas.auditEntry>;
export type AuditPage = z.infer<typeof schemas.auditPage>;
export type AuditVerification = z.infer<typeof schemas.auditVerification>;
export type Health = z.infer<typeof schemas.health>;

/** One page of a paginated listing; pass `next_cursor` back as `cursor`. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** A listing the server returns whole. */
export interface Items<T> {
  items: T[];
}

// The schemas coerce `limit` from a query string, so their input type is `unknown`; these say what to send.
export interface PageQuery {
  limit?: number;
  cursor?: string;
}
export interface AppListQuery extends PageQuery {
  /** Organization name or id; default: all of the caller's. */
  org?: string;
}
export interface AuditListQuery extends PageQuery {
  /** Organization name or id; default: the caller's first. */
  org?: string;
}
export interface AuditVerifyQuery {
  org?: string;
}
export interface AppLogsQuery {
  /** Last lines of each instance, 1..10000; default 100. */
  tail?: number;
  /** Only this instance of the app. */
  instance?: string;
}

export interface AppMetricsQuery {
  /** How far back: 1h (1 min steps, the default), 6h (5 min) or 24h (15 min). */
  window?: MetricsWindow;
}

/** The OpenAPI 3.1 document, as served; only its `paths` are typed. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}
