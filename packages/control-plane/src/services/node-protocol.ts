import { EventEmitter } from 'node:events';
import { sql } from 'kysely';
import { PaasError, idPrefixes, newId } from '@shellwego/core';
import type {
  InstanceWireSpec,
  DesiredInstanceWire,
  DesiredState,
  NodeAck,
  NodeRegistered,
  NodeStatusReport,
} from '@shellwego/core';
import type { Deps } from './context.js';
import { feedOf, inTransaction } from './context.js';
import { appendAudit } from './audit.js';
import { JOIN_TOKEN_PREFIX, NODE_CREDENTIAL_PREFIX, hashToken, newOpaqueToken } from './tokens.js';
import { isUniqueViolation } from '../store/db.js';
import type { NodesTable } from '../store/schema.js';
import type { ReleaseSpec } from './releases.js';
import type { RolloutSignal } from './rollout/signal.js';
import type { SecretService } from './secrets.js';
import type { AppUsage, MetricsService } from './metrics.js';

/** A node silent for this long is `unreachable` (ARCHITECTURE.md "Control plane ↔ agent"). */
export const NODE_SILENCE_MS = 30_000;

/** Who is calling a node route: a node, identified by its credential. Never a user. */
export interface NodeIdentity {
  nodeId: string;
  orgId: string;
  name: string;
}

function nodeLabel(n: { nodeId: string; name: string }): string {
  return `node ${n.name} (${n.nodeId})`;
}

/**
 * The control plane's side of the node protocol: registration with a join token, node credentials,
 * status reports and heartbeats, liveness, and the desired state a node watches.
 */
export class NodeProtocolService {
  private readonly changes = new EventEmitter();

  constructor(
    private readonly deps: Deps,
    private readonly parts: { secrets: SecretService; signal: RolloutSignal; metrics?: MetricsService },
  ) {
    // One listener per open watch; a busy node may reconnect, so do not warn at 10.
    this.changes.setMaxListeners(0);
    feedOf(deps).onRemote('node', (id) => this.changes.emit('change', id));
  }

  async register(input: {
    join_token: string;
    name: string;
    runtimes: string[];
    capacity: { memory_bytes: number; cpu_milli: number; disk_bytes: number };
    zone?: string | undefined;
  }): Promise<NodeRegistered> {
    const invalid = new PaasError(
      'JOIN_TOKEN_INVALID',
      'the join token is invalid, expired or was deleted; ask an admin for a new one',
      { field: 'join_token' },
    );
    if (!input.join_token.startsWith(JOIN_TOKEN_PREFIX)) throw invalid;
    // GET /v1/nodes/join-tokens is the token listing, so no node may take that name.
    if (input.name === 'join-tokens') {
      throw new PaasError('VALIDATION_FAILED', 'name: join-tokens is reserved', { field: 'name' });
    }
    const credential = newOpaqueToken(NODE_CREDENTIAL_PREFIX);
    try {
      return await inTransaction(this.deps, async (tx) => {
        const now = this.deps.now().toISOString();
        const jt = await tx
          .selectFrom('join_tokens')
          .selectAll()
          .where('token_hash', '=', hashToken(input.join_token))
          .executeTakeFirst();
        if (!jt || jt.expires_at <= now) throw invalid;
        const row: NodesTable = {
          id: newId(idPrefixes.node),
          org_id: jt.org_id,
          name: input.name,
          status: 'ready',
          runtimes: JSON.stringify(input.runtimes),
          zone: input.zone ?? jt.zone,
          memory_bytes: input.capacity.memory_bytes,
          cpu_milli: input.capacity.cpu_milli,
          disk_bytes: input.capacity.disk_bytes,
          last_heartbeat_at: now,
          created_at: now,
          credential_hash: hashToken(credential),
          revision: 0,
          actual: null,
          shared: jt.shared ?? 0,
        };
        await tx.insertInto('nodes').values(row).execute();
        await appendAudit(this.deps, tx, {
          orgId: jt.org_id,
          actor: `join token ${jt.id}`,
          action: 'node.register',
          resource: 'nodes',
          resourceId: row.id,
          data: { name: row.name, runtimes: input.runtimes, zone: row.zone },
        });
        return { node_id: row.id, credential };
      });
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw new PaasError('ALREADY_EXISTS', `a node named ${input.name} is already registered`, {
          field: 'name',
        });
      }
      throw e;
    }
  }

  /** Resolves `Authorization: Bearer swgn_…` to its node; anything else is UNAUTHENTICATED. */
  async authenticate(header: string | undefined): Promise<NodeIdentity> {
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    const token = m?.[1];
    if (!token?.startsWith(NODE_CREDENTIAL_PREFIX)) {
      throw new PaasError(
        'UNAUTHENTICATED',
        'node routes need a node credential: Authorization: Bearer swgn_…',
      );
    }
    const row = await this.deps.store.db
      .selectFrom('nodes')
      .select(['id', 'org_id', 'name'])
      .where('credential_hash', '=', hashToken(token))
      .executeTakeFirst();
    if (!row)
      throw new PaasError('UNAUTHENTICATED', 'the node credential is invalid; register the node again');
    return { nodeId: row.id, orgId: row.org_id, name: row.name };
  }

  /** A node acts on itself only: any other node (id or name) is "not found". */
  requireSelf(node: NodeIdentity, key: string): void {
    if (key !== node.nodeId && key !== node.name)
      throw new PaasError('NODE_NOT_FOUND', `node ${key} not found`);
  }

  heartbeat(node: NodeIdentity): Promise<NodeAck> {
    return this.touch(node, undefined);
  }

  async reportStatus(node: NodeIdentity, report: NodeStatusReport): Promise<NodeAck> {
    const ack = await this.touch(node, report);
    const { changed, usage } = await this.recordInstances(node, report);
    for (const appId of changed) this.parts.signal.wake(appId);
    if (usage.size > 0 && this.parts.metrics) {
      // Metrics are a by-product: losing one sample must never fail the report that keeps the node alive.
      await this.parts.metrics.recordNodeUsage(node.nodeId, usage).catch((err: unknown) => {
        this.deps.logger.warn({ err, node: node.nodeId }, 'could not record instance memory and CPU');
      });
    }
    return ack;
  }

  /**
   * Copies the node's view of its instances onto their rows; rows the control plane stopped and the node no longer
   * reports are gone for good. Returns the apps whose instances changed, for the rollout controller, and the memory
   * and CPU the node reported per app, counting only instances the control plane placed on it.
   */
  private async recordInstances(
    node: NodeIdentity,
    report: NodeStatusReport,
  ): Promise<{ changed: Set<string>; usage: Map<string, AppUsage> }> {
    const changed = new Set<string>();
    const usage = new Map<string, AppUsage>();
    await inTransaction(this.deps, async (tx) => {
      const rows = await tx
        .selectFrom('instances')
        .innerJoin('releases', 'releases.id', 'instances.release_id')
        .selectAll('instances')
        .select('releases.spec')
        .where('instances.node_id', '=', node.nodeId)
        .execute();
      const reported = new Map(report.instances.map((i) => [i.id, i]));
      const at = this.deps.now().toISOString();
      for (const row of rows) {
        const r = reported.get(row.id);
        if (!r) {
          if (row.desired === 'stopped') {
            await tx.deleteFrom('instances').where('id', '=', row.id).execute();
            changed.add(row.app_id);
          }
          continue;
        }
        if (r.memory_bytes !== undefined || r.cpu_milli !== undefined) {
          const u = usage.get(row.app_id) ?? { memoryBytes: null, cpuMilli: null };
          if (r.memory_bytes !== undefined) u.memoryBytes = (u.memoryBytes ?? 0) + r.memory_bytes;
          if (r.cpu_milli !== undefined) u.cpuMilli = (u.cpuMilli ?? 0) + r.cpu_milli;
          usage.set(row.app_id, u);
        }
        const port = (JSON.parse(row.spec) as ReleaseSpec).port;
        const next = {
          state: r.state,
          health: r.health ?? 'unknown',
          address: r.address === undefined ? row.address : `${r.address}:${port}`,
          message: r.message ?? null,
        };
        if (
          next.state === row.state &&
          next.health === row.health &&
          next.address === row.address &&
          next.message === row.message
        )
          continue;
        await tx
          .updateTable('instances')
          .set({ ...next, updated_at: at })
          .where('id', '=', row.id)
          .execute();
        changed.add(row.app_id);
      }
      // An app's pending volumes are ready once an instance of it runs (its node made the volume's directory);
      // looked at only for apps whose instances changed in this report, not on every report.
      const running = [
        ...new Set(
          rows
            .filter((row) => changed.has(row.app_id) && reported.get(row.id)?.state === 'running')
            .map((row) => row.app_id),
        ),
      ];
      if (running.length > 0)
        await tx
          .updateTable('volumes')
          .set({ status: 'ready' })
          .where('status', '=', 'pending')
          .where('mount_path', 'is not', null)
          .where('app_id', 'in', running)
          .execute();
    });
    return { changed, usage };
  }

  private async touch(node: NodeIdentity, report: NodeStatusReport | undefined): Promise<NodeAck> {
    return inTransaction(this.deps, async (tx) => {
      const row = await tx
        .selectFrom('nodes')
        .select(['status', 'revision'])
        .where('org_id', '=', node.orgId)
        .where('id', '=', node.nodeId)
        .executeTakeFirst();
      if (!row) throw new PaasError('NODE_NOT_FOUND', `node ${node.nodeId} not found`);
      const status = row.status === 'unreachable' ? 'ready' : row.status;
      await tx
        .updateTable('nodes')
        .set({
          last_heartbeat_at: this.deps.now().toISOString(),
          status,
          ...(report ? { actual: JSON.stringify(report) } : {}),
          // An agent restarted with another set of drivers (a wasm runtime added) announces what it runs now.
          ...(report?.runtimes ? { runtimes: JSON.stringify(report.runtimes) } : {}),
          // ...and what it offers now (another CPU overcommit, memory added to a VM host).
          ...(report?.capacity
            ? {
                memory_bytes: report.capacity.memory_bytes,
                cpu_milli: report.capacity.cpu_milli,
                disk_bytes: report.capacity.disk_bytes,
              }
            : {}),
        })
        .where('org_id', '=', node.orgId)
        .where('id', '=', node.nodeId)
        .execute();
      if (status !== row.status) {
        await appendAudit(this.deps, tx, {
          orgId: node.orgId,
          actor: nodeLabel(node),
          action: 'node.ready',
          resource: 'nodes',
          resourceId: node.nodeId,
          data: { was: row.status },
        });
      }
      return { status: status as NodeAck['status'], revision: Number(row.revision ?? 0) };
    });
  }

  /**
   * Marks `ready` nodes silent for NODE_SILENCE_MS before `now` as `unreachable`, each in its own
   * audited transaction. A sweep over every organization: the liveness timer is the platform's own.
   */
  async markUnreachable(now: Date): Promise<string[]> {
    const cutoff = new Date(now.getTime() - NODE_SILENCE_MS).toISOString();
    const silent = await this.deps.store.db
      .selectFrom('nodes')
      .select(['id', 'org_id', 'last_heartbeat_at'])
      .where('status', '=', 'ready')
      .where(sql<string>`coalesce(last_heartbeat_at, created_at)`, '<', cutoff)
      .execute();
    const flipped: string[] = [];
    for (const n of silent) {
      const changed = await inTransaction(this.deps, async (tx) => {
        const res = await tx
          .updateTable('nodes')
          .set({ status: 'unreachable' })
          .where('org_id', '=', n.org_id)
          .where('id', '=', n.id)
          .where('status', '=', 'ready')
          .where(sql<string>`coalesce(last_heartbeat_at, created_at)`, '<', cutoff)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) === 0) return false;
        await appendAudit(this.deps, tx, {
          orgId: n.org_id,
          actor: 'system (liveness)',
          action: 'node.unreachable',
          resource: 'nodes',
          resourceId: n.id,
          data: { last_heartbeat_at: n.last_heartbeat_at },
        });
        return true;
      });
      if (changed) flipped.push(n.id);
    }
    return flipped;
  }

  /** The node's full desired state: every instance placed on it that should run, with its release's settings. */
  async desiredState(node: NodeIdentity): Promise<DesiredState> {
    const db = this.deps.store.db;
    const row = await db
      .selectFrom('nodes')
      .select('revision')
      .where('org_id', '=', node.orgId)
      .where('id', '=', node.nodeId)
      .executeTakeFirst();
    if (!row) throw new PaasError('NODE_NOT_FOUND', `node ${node.nodeId} not found`);
    const rows = await db
      .selectFrom('instances')
      .innerJoin('releases', 'releases.id', 'instances.release_id')
      .innerJoin('apps', 'apps.id', 'instances.app_id')
      .select([
        'instances.id',
        'instances.app_id',
        'apps.name as app_name',
        'releases.id as release_id',
        'releases.version',
        'releases.image',
        'releases.image_digest',
        'releases.spec',
      ])
      .where('instances.node_id', '=', node.nodeId)
      .where('instances.desired', '=', 'running')
      .orderBy('instances.id')
      .execute();
    const secretsOf = new Map<string, Record<string, string>>();
    const volumesOf = new Map<string, NonNullable<InstanceWireSpec['volumes']>>();
    const appIds = [...new Set(rows.map((r) => r.app_id))];
    const volumeRows =
      appIds.length === 0
        ? []
        : await db
            .selectFrom('volumes')
            .select(['id', 'name', 'app_id', 'mount_path', 'size_bytes'])
            .where('app_id', 'in', appIds)
            .where('mount_path', 'is not', null)
            .orderBy('id')
            .execute();
    for (const v of volumeRows) {
      if (v.app_id === null || v.mount_path === null) continue;
      const list = volumesOf.get(v.app_id) ?? [];
      list.push({ id: v.id, name: v.name, mount_path: v.mount_path, size_bytes: Number(v.size_bytes) });
      volumesOf.set(v.app_id, list);
    }
    const instances: DesiredInstanceWire[] = [];
    for (const r of rows) {
      const spec = JSON.parse(r.spec) as ReleaseSpec;
      let secrets = secretsOf.get(r.app_id);
      if (secrets === undefined) {
        secrets =
          Object.keys(spec.secret_versions).length === 0
            ? {}
            : await this.parts.secrets.revealForInstance(r.app_id, `desired state of ${nodeLabel(node)}`);
        secretsOf.set(r.app_id, secrets);
      }
      instances.push({
        id: r.id,
        app_id: r.app_id,
        restart_policy: 'always',
        spec: {
          app_id: r.app_id,
          app_name: r.app_name,
          release_id: r.release_id,
          release_version: r.version,
          image: r.image_digest ? pinned(r.image, r.image_digest) : r.image,
          runtime: spec.runtime,
          env: spec.env,
          secrets,
          secret_versions: spec.secret_versions,
          resources: spec.resources,
          port: spec.port,
          health_check: spec.health_check,
          // Only when there are some: a spec without the key stays equal to the ones nodes run already.
          ...(volumesOf.has(r.app_id) ? { volumes: volumesOf.get(r.app_id) } : {}),
        },
      });
    }
    return { revision: Number(row.revision ?? 0), instances };
  }

  /** Records a change of a node's desired state (bumps its revision) and wakes its watchers. */
  async bumpRevision(nodeId: string): Promise<number> {
    const row = await this.deps.store.db
      .updateTable('nodes')
      .set({ revision: sql<number>`revision + 1` })
      .where('id', '=', nodeId)
      .returning('revision')
      .executeTakeFirst();
    if (!row) throw new PaasError('NODE_NOT_FOUND', `node ${nodeId} not found`);
    this.changes.emit('change', nodeId);
    // The node's watch may be open on another control plane.
    await feedOf(this.deps).announce('node', nodeId);
    return Number(row.revision ?? 0);
  }

  /** Calls `listener` whenever the node's desired state changes; returns the unsubscribe function. */
  onChange(nodeId: string, listener: () => void): () => void {
    const fn = (id: string): void => {
      // '*': the feed lost announcements while reconnecting; every watch sends its state again.
      if (id === nodeId || id === '*') listener();
    };
    this.changes.on('change', fn);
    return () => {
      this.changes.off('change', fn);
    };
  }
}

/** `repo:tag` + digest → `repo@sha256:…`: what the node pulls, so every node runs the same bytes. */
function pinned(image: string, digest: string): string {
  const at = image.indexOf('@');
  if (at >= 0) return image;
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  const repo = colon > slash ? image.slice(0, colon) : image;
  return `${repo}@${digest}`;
}
