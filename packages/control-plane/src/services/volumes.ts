import { PaasError, formatMemory, idPrefixes, isId, newId, parseByteSize } from '@shellwego/core';
import type { Volume } from '@shellwego/core';
import type { Actor, Deps } from './context.js';
import { inTransaction, isoNow } from './context.js';
import { appendAudit, audited } from './audit.js';
import { authorize, can, visibleOrgIds } from './authz.js';
import { findApp } from './apps.js';
import { resolveOrg } from './orgs-lookup.js';
import { isUniqueViolation } from '../store/db.js';
import type { VolumesTable } from '../store/schema.js';

const MiB = 1024 * 1024;

function present(r: VolumesTable): Volume {
  return {
    id: r.id,
    name: r.name,
    org_id: r.org_id,
    size: formatMemory(r.size_bytes),
    size_bytes: r.size_bytes,
    app_id: r.app_id,
    mount_path: r.mount_path,
    status: r.status as Volume['status'],
    created_at: r.created_at,
  };
}

/** Persistent volumes as records; the node's storage drivers provision them in a later issue. */
export class VolumeService {
  constructor(private readonly deps: Deps) {}

  async create(
    actor: Actor,
    input: {
      name: string;
      size: string | number;
      app?: string | undefined;
      mount_path?: string | undefined;
      org?: string | undefined;
    },
  ): Promise<Volume> {
    const sizeBytes = parseByteSize(input.size, 'size', {
      min: MiB,
      max: 64 * 1024 * 1024 * MiB,
      describe: 'a volume must be between 1Mi and 64Ti',
    });
    try {
      return await inTransaction(this.deps, async (tx) => {
        const app = input.app === undefined ? undefined : await findApp(tx, actor, input.app);
        const org = app ? { id: app.org_id } : await resolveOrg(tx, actor, input.org);
        authorize(actor, org.id, 'volumes', 'write', '*');
        if (input.mount_path !== undefined && !app) {
          throw new PaasError('VALIDATION_FAILED', 'mount_path: needs app, the app to mount the volume in', {
            field: 'mount_path',
          });
        }
        const row: VolumesTable = {
          id: newId(idPrefixes.volume),
          org_id: org.id,
          app_id: app?.id ?? null,
          name: input.name,
          size_bytes: sizeBytes,
          mount_path: input.mount_path ?? (app ? '/data' : null),
          status: 'pending',
          created_at: isoNow(this.deps),
        };
        await tx.insertInto('volumes').values(row).execute();
        await appendAudit(
          this.deps,
          tx,
          audited(actor, org.id, 'volume.create', 'volumes', row.id, {
            name: row.name,
            size_bytes: sizeBytes,
            app: row.app_id,
          }),
        );
        return present(row);
      });
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw new PaasError('ALREADY_EXISTS', `a volume named ${input.name} already exists`, {
          field: 'name',
        });
      }
      throw e;
    }
  }

  async list(actor: Actor): Promise<Volume[]> {
    const orgs = visibleOrgIds(actor);
    if (orgs.length === 0) return [];
    const rows = await this.deps.store.db
      .selectFrom('volumes')
      .selectAll()
      .where('org_id', 'in', orgs)
      .orderBy('id')
      .execute();
    return rows.filter((r) => can(actor, r.org_id, 'volumes', 'read', r.id)).map(present);
  }

  private async find(actor: Actor, key: string): Promise<VolumesTable> {
    const orgs = visibleOrgIds(actor);
    const row =
      orgs.length === 0
        ? undefined
        : await this.deps.store.db
            .selectFrom('volumes')
            .selectAll()
            .where('org_id', 'in', orgs)
            .where(isId(key, idPrefixes.volume) ? 'id' : 'name', '=', key)
            .orderBy('id')
            .executeTakeFirst();
    if (!row) throw new PaasError('VOLUME_NOT_FOUND', `volume ${key} not found`);
    return row;
  }

  async get(actor: Actor, key: string): Promise<Volume> {
    const row = await this.find(actor, key);
    authorize(actor, row.org_id, 'volumes', 'read', row.id);
    return present(row);
  }

  async delete(actor: Actor, key: string): Promise<void> {
    const row = await this.find(actor, key);
    authorize(actor, row.org_id, 'volumes', 'write', row.id);
    await inTransaction(this.deps, async (tx) => {
      await tx.deleteFrom('volumes').where('id', '=', row.id).execute();
      await appendAudit(
        this.deps,
        tx,
        audited(actor, row.org_id, 'volume.delete', 'volumes', row.id, { name: row.name }),
      );
    });
  }
}
