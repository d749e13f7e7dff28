import type { Deps } from './context.js';
import { AccessTokens } from './jwt-keys.js';
import { AuthService } from './auth.js';
import { OrgService } from './orgs.js';
import { AppService } from './apps.js';
import { SecretService } from './secrets.js';
import { DomainService } from './domains.js';
import { VolumeService } from './volumes.js';
import { NodeService } from './nodes.js';
import { JoinTokenService } from './join-tokens.js';
import { NodeProtocolService } from './node-protocol.js';
import { listAudit, verifyAudit } from './audit.js';

/** The domain services, wired once by main.ts and handed to the HTTP layer. */
export interface Services {
  deps: Deps;
  auth: AuthService;
  orgs: OrgService;
  apps: AppService;
  secrets: SecretService;
  domains: DomainService;
  volumes: VolumeService;
  nodes: NodeService;
  joinTokens: JoinTokenService;
  nodeProtocol: NodeProtocolService;
  audit: {
    list: OmitFirst<typeof listAudit>;
    verify: OmitFirst<typeof verifyAudit>;
  };
}

type OmitFirst<F> = F extends (deps: Deps, ...rest: infer A) => infer R ? (...args: A) => R : never;

export async function buildServices(deps: Deps): Promise<Services> {
  const tokens = await AccessTokens.load(deps);
  return {
    deps,
    auth: new AuthService(deps, tokens),
    orgs: new OrgService(deps),
    apps: new AppService(deps),
    secrets: new SecretService(deps),
    domains: new DomainService(deps),
    volumes: new VolumeService(deps),
    nodes: new NodeService(deps),
    joinTokens: new JoinTokenService(deps),
    nodeProtocol: new NodeProtocolService(deps),
    audit: {
      list: (actor, opts) => listAudit(deps, actor, opts),
      verify: (actor, org) => verifyAudit(deps, actor, org),
    },
  };
}
