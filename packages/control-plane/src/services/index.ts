import type { Deps } from './context.js';
import { feedOf } from './context.js';
import { AccessTokens } from './jwt-keys.js';
import { AuthService } from './auth.js';
import { OrgService } from './orgs.js';
import { AppService } from './apps.js';
import { SecretService } from './secrets.js';
import { DomainService } from './domains.js';
import { VolumeService } from './volumes.js';
import { ArtifactService } from './artifacts.js';
import { NodeService } from './nodes.js';
import { JoinTokenService } from './join-tokens.js';
import { NodeProtocolService } from './node-protocol.js';
import { listAudit, verifyAudit } from './audit.js';
import { DeploymentService } from './deployments.js';
import { EdgeRoutesService } from './edge-routes.js';
import { EventService } from './events.js';
import { LogBroker } from './logs.js';
import { MetricsService } from './metrics.js';
import { RolloutController, defaultRolloutOptions, type RolloutOptions } from './rollout/controller.js';
import { RolloutSignal } from './rollout/signal.js';
import { CertificateService, defaultCertificateOptions } from './tls/certificates.js';
import type { CertificateOptions } from './tls/certificates.js';
import { AcmeIssuer } from './tls/acme-issuer.js';
import type { AcmeSettings } from './tls/acme-issuer.js';

/** The domain services, wired once by main.ts and handed to the HTTP layer. */
export interface Services {
  deps: Deps;
  auth: AuthService;
  orgs: OrgService;
  apps: AppService;
  secrets: SecretService;
  domains: DomainService;
  volumes: VolumeService;
  artifacts: ArtifactService;
  nodes: NodeService;
  joinTokens: JoinTokenService;
  nodeProtocol: NodeProtocolService;
  deployments: DeploymentService;
  events: EventService;
  logs: LogBroker;
  metrics: MetricsService;
  edgeRoutes: EdgeRoutesService;
  rollout: RolloutController;
  certificates: CertificateService;
  audit: {
    list: OmitFirst<typeof listAudit>;
    verify: OmitFirst<typeof verifyAudit>;
  };
}

type OmitFirst<F> = F extends (deps: Deps, ...rest: infer A) => infer R ? (...args: A) => R : never;

export async function buildServices(
  deps: Deps,
  rollout?: Partial<RolloutOptions>,
  tls?: { acme?: AcmeSettings | undefined; options?: Partial<Omit<CertificateOptions, 'acme' | 'onChange'>> },
): Promise<Services> {
  const tokens = await AccessTokens.load(deps);
  const secrets = new SecretService(deps);
  const signal = new RolloutSignal(feedOf(deps));
  const events = new EventService(deps);
  // The certificate service is made below (it needs edgeRoutes to announce changes); the table asks it lazily.
  const certificatesRef: { current?: CertificateService } = {};
  const edgeRoutes = new EdgeRoutesService(deps, {
    challenges: () => certificatesRef.current?.challenges() ?? Promise.resolve([]),
  });
  const metrics = new MetricsService(deps);
  const nodeProtocol = new NodeProtocolService(deps, { secrets, signal, metrics });
  const deployments = new DeploymentService(deps, events, signal);
  const certificates = await CertificateService.create(deps, {
    ...defaultCertificateOptions,
    ...tls?.options,
    acme: tls?.acme ? new AcmeIssuer(deps, tls.acme) : null,
    // New certificates and challenges reach the edges through their route-table watch.
    onChange: () => edgeRoutes.changed({ certificates: true }),
  });
  certificatesRef.current = certificates;
  return {
    deps,
    auth: new AuthService(deps, tokens),
    orgs: new OrgService(deps),
    apps: new AppService(deps, {
      deployments,
      signal,
      nodesChanged: async (ids) => {
        for (const id of ids) await nodeProtocol.bumpRevision(id);
      },
    }),
    secrets,
    domains: new DomainService(deps, { added: (hostname) => certificates.domainAdded(hostname) }),
    // An app's volumes are part of its instances' desired state: their nodes hear of a change at once.
    volumes: new VolumeService(deps, {
      appChanged: async (appId) => {
        const nodes = await deps.store.db
          .selectFrom('instances')
          .select('node_id')
          .distinct()
          .where('app_id', '=', appId)
          .where('desired', '=', 'running')
          .execute();
        for (const n of nodes) await nodeProtocol.bumpRevision(n.node_id);
      },
    }),
    artifacts: new ArtifactService(deps),
    nodes: new NodeService(deps),
    joinTokens: new JoinTokenService(deps),
    nodeProtocol,
    deployments,
    events,
    logs: new LogBroker(deps),
    metrics,
    edgeRoutes,
    rollout: new RolloutController(
      deps,
      { events, nodeProtocol, edge: edgeRoutes, signal },
      { ...defaultRolloutOptions, ...rollout },
    ),
    certificates,
    audit: {
      list: (actor, opts) => listAudit(deps, actor, opts),
      verify: (actor, org) => verifyAudit(deps, actor, org),
    },
  };
}
