import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeAtomically } from '../state/atomic-write.js';

const credentialsSchema = z.object({
  url: z.string(),
  node_id: z.string().min(1),
  credential: z.string().min(1),
});
export type NodeCredentials = z.infer<typeof credentialsSchema>;

/** The node's identity, in `<dataDir>/node.json` with mode 0600: the credential is as good as the node itself. */
export class CredentialsStore {
  readonly file: string;

  constructor(private readonly dataDir: string) {
    this.file = join(dataDir, 'node.json');
  }

  async load(): Promise<NodeCredentials | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    return credentialsSchema.parse(JSON.parse(text));
  }

  async save(creds: NodeCredentials): Promise<void> {
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    // writeAtomically creates the file 0600 before a byte of it is written.
    await writeAtomically(this.file, `${JSON.stringify(creds, null, 2)}\n`);
  }
}
