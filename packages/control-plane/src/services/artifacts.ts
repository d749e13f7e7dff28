import { createHash } from 'node:crypto';
import { ARTIFACT_MAX_BYTES, PaasError } from '@shellwego/core';
import type { Artifact, ArtifactContent } from '@shellwego/core';
import type { Actor, Db, Deps } from './context.js';
import { inTransaction, isoNow } from './context.js';
import { findApp } from './apps.js';
import { appendAudit, audited } from './audit.js';
import { authorize } from './authz.js';
import type { NodeIdentity } from './node-protocol.js';
import type { ArtifactsTable } from '../store/schema.js';

/** `\0asm` and binary format version 1: what every WebAssembly module starts with. */
const WASM_HEADER = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

const present = (r: Omit<ArtifactsTable, 'content'>): Artifact => ({
  digest: r.digest,
  size: Number(r.size),
  kind: r.kind as Artifact['kind'],
  created_at: r.created_at,
});

/** Whether a wasm release may name this digest: the module must have been uploaded to the app's organization. */
export async function assertArtifact(db: Db, orgId: string, digest: string): Promise<void> {
  const row = await db
    .selectFrom('artifacts')
    .select('digest')
    .where('org_id', '=', orgId)
    .where('digest', '=', digest)
    .executeTakeFirst();
  if (!row)
    throw new PaasError('ARTIFACT_NOT_FOUND', `no module ${digest} was uploaded to this organization`, {
      field: 'image',
      hint: 'upload it first: shellwego deploy APP --runtime wasm FILE.wasm',
    });
}

/** WebAssembly modules of wasm apps, content-addressed per organization and kept in the store. */
export class ArtifactService {
  constructor(private readonly deps: Deps) {}

  async upload(actor: Actor, appKey: string, contentBase64: string): Promise<Artifact> {
    const content = Buffer.from(contentBase64, 'base64');
    if (content.length > ARTIFACT_MAX_BYTES)
      throw new PaasError(
        'VALIDATION_FAILED',
        `content_base64: the module is ${content.length} bytes; at most ${ARTIFACT_MAX_BYTES}`,
        {
          field: 'content_base64',
        },
      );
    if (content.length < WASM_HEADER.length || !content.subarray(0, WASM_HEADER.length).equals(WASM_HEADER))
      throw new PaasError(
        'VALIDATION_FAILED',
        'content_base64: not a WebAssembly module (no \\0asm version 1 header)',
        {
          field: 'content_base64',
        },
      );
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    return inTransaction(this.deps, async (tx) => {
      const app = await findApp(tx, actor, appKey);
      authorize(actor, app.org_id, 'apps', 'write', app.id);
      const existing = await tx
        .selectFrom('artifacts')
        .select(['org_id', 'digest', 'kind', 'size', 'created_at'])
        .where('org_id', '=', app.org_id)
        .where('digest', '=', digest)
        .executeTakeFirst();
      if (existing) return present(existing);
      const row: ArtifactsTable = {
        org_id: app.org_id,
        digest,
        kind: 'wasm',
        size: content.length,
        content,
        created_at: isoNow(this.deps),
      };
      await tx.insertInto('artifacts').values(row).execute();
      await appendAudit(
        this.deps,
        tx,
        audited(actor, app.org_id, 'artifact.upload', 'artifacts', app.id, { digest, size: content.length }),
      );
      return present(row);
    });
  }

  /** A module for a node: only one that a release placed on that node names, whatever org the node serves. */
  async forNode(node: NodeIdentity, digest: string): Promise<ArtifactContent> {
    const row = await this.deps.store.db
      .selectFrom('artifacts')
      .selectAll('artifacts')
      .where('artifacts.digest', '=', digest)
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom('instances')
            .innerJoin('releases', 'releases.id', 'instances.release_id')
            .select('instances.id')
            .where('instances.node_id', '=', node.nodeId)
            .where('releases.image', '=', digest)
            .whereRef('releases.org_id', '=', 'artifacts.org_id'),
        ),
      )
      .executeTakeFirst();
    if (!row) throw new PaasError('ARTIFACT_NOT_FOUND', `no module ${digest} is placed on this node`);
    return { ...present(row), content_base64: Buffer.from(row.content).toString('base64') };
  }
}
