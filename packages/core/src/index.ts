// Errors: the catalogue shared by the API, the CLI and the dashboard.
export { PaasError, isPaasError, notFound, errorCatalogue } from './errors.js';
export { finishedDeploymentStatuses } from './schemas/deployments.js';
export type { ErrorCode, ErrorBody, PaasErrorOptions } from './errors.js';

// Resources: parsing and the math the runtimes need.
export {
  parseMemory,
  parseByteSize,
  parseCpu,
  parseDuration,
  cpuShares,
  cpuQuotaMicros,
  bytesToMiB,
  formatMemory,
  formatCpu,
  formatDuration,
  resourceLimits,
} from './resources.js';

// Bounded concurrency (the agent's starts and samples, the edge's health checks).
export { Limiter } from './limiter.js';

// Canonical JSON: equal content, equal text (spec comparison, hashing).
export { canonicalJson } from './canonical-json.js';

// Ids.
export { newId, isId, idPrefixes } from './ids.js';

// A deterministic MAC per instance, for the agent's network.
export { macForInstance } from './mac.js';

// RBAC scopes and roles.
export { roles, scopesOfRole, scopeCovers, hasScope, isValidScope, roleAtLeast } from './scopes.js';
export type { Role, ScopeResource, ScopeAction } from './scopes.js';

// API schemas (zod): one language for validation, types and the OpenAPI document.
export * as schemas from './schemas/index.js';
export type { App, AppCreate, AppPatch, Runtime } from './schemas/apps.js';
export type { Org, Member } from './schemas/orgs.js';
export type { TokenPair, User, Me, ApiToken } from './schemas/auth.js';
export type { Secret, Domain, Volume, Node, AuditEntry, AuditVerification } from './schemas/resources.js';
export type { PageQuery } from './schemas/common.js';
export type {
  JoinToken,
  JoinTokenCreated,
  NodeRegistered,
  NodeStatusReport,
  NodeResources,
  NodeInstanceStatus,
  NodeAck,
  DesiredState,
  DesiredInstanceWire,
  InstanceWireSpec,
} from './schemas/nodes.js';
export type { EdgeUpstream, EdgeRoute, EdgeRouteTable } from './schemas/edge.js';
export type { EdgeCertificate, EdgeCertificateList, AcmeChallenge } from './schemas/certificates.js';
export type {
  Strategy,
  DeploymentStatus,
  DeploymentCreate,
  Deployment,
  Release,
  PlatformEvent,
} from './schemas/deployments.js';
export type { AppInstance } from './schemas/apps.js';
export type { LogRequest, LogLine, LogQuery } from './schemas/logs.js';
export { ARTIFACT_MAX_BYTES } from './schemas/artifacts.js';
export type { Artifact, ArtifactContent, ArtifactUpload } from './schemas/artifacts.js';
