import { posix } from 'node:path';
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
    node_id: r.node_id,
    created_at: r.created_at,
  };
}

/** Paths a volume may not cover: the container's own filesystems and where its secrets are mounted. */
const RESERVED_MOUNTS = ['/proc', '/sys', '/dev', '/run/secrets'];

function checkMountPath(path: string): void {
  const normal = posix.normalize(path);
  if (normal !== path || path === '/' || path.endsWith('/'))
    throw new PaasError('VALIDATION_FAILED', `mount_path: ${path} must be a plain absolute path below /`, {
      field: 'mount_path',
    });
  const reserved = RESERVED_MOUNTS.find((r) => path === r || path.startsWith(`${r}/`));
  if (reserved !== undefined)
    throw new PaasError(
      'VALIDATION_FAILED',
      `mount_path: ${reserved} is the runtime's own; mount the volume elsewhere`,
      {
        field: 'mount_path',
      },
    );
}

/**
 * Persistent volumes. One with an app and a mount path is part of that app's instances: each node keeps it as a
 * directory of its own (by volume id; the data stays on that node when instances come and go) and mounts it at the
 * path. Status: `pending` until an instance of the app runs with it, then `ready`.
 */
export class VolumeService {
  constructor(
    private readonly deps: Deps,
    private readonly parts: { appChanged: (appId: string) => Promise<void> } = {
      appChanged: () => Promise.resolve(),
    },
  ) {}

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
      const created = await inTransaction(this.deps, async (tx) => {
        const app = input.app === undefined ? undefined : await findApp(tx, actor, input.app);
        const org = app ? { id: app.org_id } : await resolveOrg(tx, actor, input.org);
        authorize(actor, org.id, 'volumes', 'write', '*');
        if (input.mount_path !== undefined) checkMountPath(input.mount_path);
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
          // Attached to an app that runs already: its data lives where the app's oldest instance runs.
          node_id:
            app && input.mount_path !== undefined
              ? ((
                  await tx
                    .selectFrom('instances')
                    .select('node_id')
                    .where('app_id', '=', app.id)
                    .where('desired', '=', 'running')
                    .orderBy('created_at')
                    .orderBy('id')
                    .executeTakeFirst()
                )?.node_id ?? null)
              : null,
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
      if (created.app_id !== null && created.mount_path !== null) await this.parts.appChanged(created.app_id);
      return created;
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
    // Its instances run on without it (the nodes keep its directory: data is not thrown away unasked).
    if (row.app_id !== null && row.mount_path !== null) await this.parts.appChanged(row.app_id);
  }
}
