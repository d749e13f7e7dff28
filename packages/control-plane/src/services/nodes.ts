import { PaasError } from '@shellwego/core';
import type { Node } from '@shellwego/core';
import type { Actor, Deps } from './context.js';
import { authorize, can, visibleOrgIds } from './authz.js';
import type { NodesTable } from '../store/schema.js';

function present(r: NodesTable): Node {
  return {
    id: r.id,
    name: r.name,
    org_id: r.org_id,
    status: r.status as Node['status'],
    runtimes: JSON.parse(r.runtimes) as string[],
    zone: r.zone,
    capacity: { memory_bytes: r.memory_bytes, cpu_milli: r.cpu_milli, disk_bytes: r.disk_bytes },
    last_heartbeat_at: r.last_heartbeat_at,
    created_at: r.created_at,
  };
}

/**
 * Worker nodes belong to the organization that operates them (the operator's, for shared nodes).
 * Registration and heartbeats arrive with the agent; here nodes are records to list.
 */
export class NodeService {
  constructor(private readonly deps: Deps) {}

  async list(actor: Actor): Promise<Node[]> {
    const orgs = visibleOrgIds(actor).filter((o) => can(actor, o, 'nodes', 'read', '*'));
    if (orgs.length === 0) return [];
    const rows = await this.deps.store.db
      .selectFrom('nodes')
      .selectAll()
      .where('org_id', 'in', orgs)
      .orderBy('name')
      .execute();
    return rows.map(present);
  }

  async get(actor: Actor, id: string): Promise<Node> {
    const orgs = visibleOrgIds(actor);
    const row =
      orgs.length === 0
        ? undefined
        : await this.deps.store.db
            .selectFrom('nodes')
            .selectAll()
            .where('org_id', 'in', orgs)
            .where((eb) => eb.or([eb('id', '=', id), eb('name', '=', id)]))
            .executeTakeFirst();
    if (!row) throw new PaasError('NODE_NOT_FOUND', `node ${id} not found`);
    authorize(actor, row.org_id, 'nodes', 'read', row.id);
    return present(row);
  }
}
