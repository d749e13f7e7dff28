import { createHash } from 'node:crypto';
import { access, chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PaasError } from '@shellwego/core';
import { writeAtomically } from '../state/atomic-write.js';

/** Where a module comes from when the node lacks it: the control plane (ControlPlaneClient.artifact). */
export type ArtifactFetcher = (digest: string) => Promise<Buffer>;

/**
 * The node's wasm modules, one file per digest (`<dir>/sha256/<hex>.wasm`), fetched once and verified before they are
 * kept: a file under its digest's name is always that digest's content, so a kept file is used without reading it.
 */
export class ArtifactCache {
  private readonly fetching = new Map<string, Promise<string>>();

  constructor(
    private readonly dir: string,
    private readonly fetcher: ArtifactFetcher,
  ) {}

  /** The module's path on this node, fetching it first when needed (one fetch however many instances wait). */
  async path(digest: string): Promise<string> {
    const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
    if (m?.[1] === undefined) throw new PaasError('VALIDATION_FAILED', `not a module digest: ${digest}`);
    const file = join(this.dir, 'sha256', `${m[1]}.wasm`);
    if (await exists(file)) return file;
    let pending = this.fetching.get(digest);
    if (pending === undefined) {
      pending = this.fetch(digest, m[1], file).finally(() => this.fetching.delete(digest));
      this.fetching.set(digest, pending);
    }
    return pending;
  }

  /** An empty directory, the read-only "root filesystem" of runtimes that run one file. */
  async emptyRoot(): Promise<string> {
    const root = join(this.dir, 'empty-root');
    await mkdir(root, { recursive: true });
    await chmod(root, 0o555);
    return root;
  }

  private async fetch(digest: string, hex: string, file: string): Promise<string> {
    const content = await this.fetcher(digest);
    const got = createHash('sha256').update(content).digest('hex');
    if (got !== hex)
      throw new PaasError('INTERNAL', `module ${digest} arrived with digest sha256:${got}; not kept`);
    await mkdir(join(this.dir, 'sha256'), { recursive: true, mode: 0o700 });
    await writeAtomically(file, content);
    return file;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
