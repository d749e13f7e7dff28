import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceHandle } from '@shellwego/driver-sdk';
import type { InstanceNetwork } from '../network/network-manager.js';
import { writeAtomically } from './atomic-write.js';

/** What the agent keeps about one instance it runs, so a restarted agent knows what it runs. */
export interface InstanceRecord {
  instanceId: string;
  /** The wire spec as the control plane sent it, without secret values (withoutSecrets): plan() compares like with like. */
  spec: unknown;
  handle: InstanceHandle;
  network: InstanceNetwork | null;
  savedAt: string;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** One JSON file per instance under `<stateDir>/instances/`, each rewritten atomically. */
export class InstanceStore {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'instances');
  }

  async save(record: InstanceRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeAtomically(this.fileOf(record.instanceId), JSON.stringify(record, null, 2) + '\n');
  }

  async get(instanceId: string): Promise<InstanceRecord | undefined> {
    const text = await readFile(this.fileOf(instanceId), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : parseRecord(text);
  }

  /** Every saved instance; files that don't parse (never written by save) are skipped rather than fatal. */
  async load(): Promise<InstanceRecord[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const records: InstanceRecord[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      const text = await readFile(join(this.dir, name), 'utf8').catch(() => undefined);
      const record = text === undefined ? undefined : parseRecord(text);
      if (record !== undefined) records.push(record);
    }
    return records;
  }

  /** Forgets an instance; removing an unknown one is fine. */
  async remove(instanceId: string): Promise<void> {
    await rm(this.fileOf(instanceId), { force: true });
  }

  private fileOf(instanceId: string): string {
    // The id becomes a file name: refuse anything that could climb out of the directory.
    if (!ID.test(instanceId)) throw new Error(`invalid instance id ${JSON.stringify(instanceId)}`);
    return join(this.dir, `${instanceId}.json`);
  }
}

function parseRecord(text: string): InstanceRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<InstanceRecord>;
    if (typeof r.instanceId !== 'string' || typeof r.handle !== 'object' || r.handle === null)
      return undefined;
    return r as InstanceRecord;
  } catch {
    return undefined;
  }
}
