import { EventEmitter } from 'node:events';
import type { AcmeChallenge, EdgeRoute, EdgeRouteTable } from '@shellwego/core';
import type { Deps } from './context.js';
import { feedOf } from './context.js';
import type { ReleaseSpec } from './releases.js';

/**
 * The edge's route table: every app's hostnames (`APP.<domain>` and its custom domains) with the instances the
 * rollout controller has routed. The revision starts from the clock so that it keeps growing across restarts.
 */
export class EdgeRoutesService {
  private revision: number;
  private readonly changes = new EventEmitter();

  private certificatesRevision: number;
  /** The hostnames of the last table: a new one needs its certificate, which the edge fetches on a new revision. */
  private hostKey = '';

  constructor(
    private readonly deps: Deps,
    private readonly certificates: { challenges: () => Promise<AcmeChallenge[]> } = {
      challenges: () => Promise.resolve([]),
    },
  ) {
    this.revision = deps.now().getTime();
    this.certificatesRevision = this.revision;
    this.changes.setMaxListeners(0);
    // Another control plane changed routes, certificates or challenges ('*': it may have, while the feed was away).
    feedOf(deps).onRemote('edge', (payload) => {
      const what =
        payload === '*' ? { certificates: true } : (JSON.parse(payload) as { certificates?: boolean });
      this.bump(what);
    });
  }

  /** The routes (or the challenges) changed: bump the revision, wake the edges' watches here and elsewhere. */
  changed(what: { certificates?: boolean } = {}): void {
    this.bump(what);
    void feedOf(this.deps).announce('edge', JSON.stringify({ certificates: what.certificates === true }));
  }

  /**
   * Revisions follow the clock (at least +1), so the tables of several control planes compare: an edge that
   * reconnects to another one never takes its newer table for an older one.
   */
  private bump(what: { certificates?: boolean }): void {
    this.revision = Math.max(this.revision + 1, this.deps.now().getTime());
    if (what.certificates) this.certificatesRevision = Math.max(this.certificatesRevision + 1, this.revision);
    this.changes.emit('change');
  }

  onChange(listener: () => void): () => void {
    this.changes.on('change', listener);
    return () => this.changes.off('change', listener);
  }

  async table(): Promise<EdgeRouteTable> {
    const revision = this.revision;
    const db = this.deps.store.db;
    const apps = await db
      .selectFrom('apps')
      .leftJoin('releases', 'releases.id', 'apps.current_release_id')
      .select(['apps.id', 'apps.name', 'apps.hc_path', 'releases.spec'])
      .execute();
    const routed = await db
      .selectFrom('instances')
      .select(['id', 'app_id', 'address'])
      .where('routed', '=', 1)
      .where('desired', '=', 'running')
      .execute();
    const domains = await db.selectFrom('domains').select(['app_id', 'hostname']).execute();
    const upstreams = new Map<string, EdgeRoute['upstreams']>();
    for (const i of routed) {
      if (i.address === null) continue;
      upstreams.set(i.app_id, [
        ...(upstreams.get(i.app_id) ?? []),
        { id: i.id, address: i.address, weight: 100 },
      ]);
    }
    const hosts = new Map<string, string[]>();
    for (const d of domains) hosts.set(d.app_id, [...(hosts.get(d.app_id) ?? []), d.hostname]);
    const routes: EdgeRoute[] = [];
    for (const a of apps) {
      const ups = upstreams.get(a.id) ?? [];
      const healthPath = a.spec ? (JSON.parse(a.spec) as ReleaseSpec).health_check.path : a.hc_path;
      for (const hostname of [`${a.name}.${this.deps.settings.domain}`, ...(hosts.get(a.id) ?? [])])
        routes.push({ hostname, app_id: a.id, app_name: a.name, health_path: healthPath, upstreams: ups });
    }
    const hostKey = routes
      .map((r) => r.hostname)
      .sort()
      .join(' ');
    if (hostKey !== this.hostKey) {
      this.hostKey = hostKey;
      this.certificatesRevision++;
    }
    return {
      revision,
      routes,
      challenges: await this.certificates.challenges(),
      certificates_revision: this.certificatesRevision,
    };
  }
}
