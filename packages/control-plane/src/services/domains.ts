import { PaasError, idPrefixes, isId, newId } from '@shellwego/core';
import type { Domain } from '@shellwego/core';
import type { Actor, Deps } from './context.js';
import { inTransaction, isoNow } from './context.js';
import { appendAudit, audited } from './audit.js';
import { authorize } from './authz.js';
import { findApp } from './apps.js';
import { isUniqueViolation } from '../store/db.js';
import type { DomainsTable } from '../store/schema.js';

function present(r: DomainsTable, certificateExpiresAt: string | null = null): Domain {
  return {
    id: r.id,
    hostname: r.hostname,
    app_id: r.app_id,
    tls_status: r.tls_status as Domain['tls_status'],
    last_acme_error: r.last_acme_error,
    certificate_expires_at: certificateExpiresAt,
    created_at: r.created_at,
  };
}

/** Custom domains of an app; their certificates come from the CertificateService (services/tls). */
export class DomainService {
  constructor(
    private readonly deps: Deps,
    private readonly hooks: { added?: (hostname: string) => void } = {},
  ) {}

  async add(actor: Actor, appKey: string, hostname: string): Promise<Domain> {
    const domain = await this.insert(actor, appKey, hostname);
    // After the commit, so the issuer finds the row.
    this.hooks.added?.(domain.hostname);
    return domain;
  }

  private async insert(actor: Actor, appKey: string, hostname: string): Promise<Domain> {
    try {
      return await inTransaction(this.deps, async (tx) => {
        const app = await findApp(tx, actor, appKey);
        authorize(actor, app.org_id, 'domains', 'write', app.id);
        const row: DomainsTable = {
          id: newId(idPrefixes.domain),
          org_id: app.org_id,
          app_id: app.id,
          hostname,
          tls_status: 'pending',
          last_acme_error: null,
          created_at: isoNow(this.deps),
        };
        await tx.insertInto('domains').values(row).execute();
        await appendAudit(
          this.deps,
          tx,
          audited(actor, app.org_id, 'domain.add', 'domains', row.id, { hostname, app: app.id }),
        );
        return present(row);
      });
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw new PaasError('ALREADY_EXISTS', `domain ${hostname} is already in use`, { field: 'hostname' });
      }
      throw e;
    }
  }

  async list(actor: Actor, appKey: string): Promise<Domain[]> {
    const app = await findApp(this.deps.store.db, actor, appKey);
    authorize(actor, app.org_id, 'domains', 'read', app.id);
    const rows = await this.deps.store.db
      .selectFrom('domains')
      .leftJoin('certificates', 'certificates.domain_id', 'domains.id')
      .selectAll('domains')
      .select('certificates.not_after')
      .where('domains.org_id', '=', app.org_id)
      .where('domains.app_id', '=', app.id)
      .orderBy('domains.created_at')
      .execute();
    return rows.map(({ not_after, ...r }) => present(r, not_after));
  }

  /** Removes a domain given by hostname or id. */
  async remove(actor: Actor, appKey: string, key: string): Promise<void> {
    await inTransaction(this.deps, async (tx) => {
      const app = await findApp(tx, actor, appKey);
      authorize(actor, app.org_id, 'domains', 'write', app.id);
      const row = await tx
        .selectFrom('domains')
        .select(['id', 'hostname'])
        .where('org_id', '=', app.org_id)
        .where('app_id', '=', app.id)
        .where(isId(key, idPrefixes.domain) ? 'id' : 'hostname', '=', key)
        .executeTakeFirst();
      if (!row) throw new PaasError('DOMAIN_NOT_FOUND', `domain ${key} not found on app ${app.name}`);
      await tx.deleteFrom('domains').where('id', '=', row.id).execute();
      await appendAudit(
        this.deps,
        tx,
        audited(actor, app.org_id, 'domain.remove', 'domains', row.id, { hostname: row.hostname }),
      );
    });
  }
}
