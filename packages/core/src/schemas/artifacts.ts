import { z } from 'zod';

/** A content digest as OCI writes them; artifacts are named by theirs. */
export const sha256Digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256: and 64 hex digits');

/**
 * The largest module the API takes. Modules travel base64 in JSON (one body schema for the API, the CLI and the
 * OpenAPI document), under the API's 10 MiB body limit; WASI functions are usually far smaller.
 */
export const ARTIFACT_MAX_BYTES = 7 * 1024 * 1024;

/** A WebAssembly module uploaded for an app; deploy it with `image: <digest>` and `runtime: wasm`. */
export const artifactUpload = z.strictObject({
  content_base64: z
    .string()
    .min(1)
    .max(Math.ceil(ARTIFACT_MAX_BYTES / 3) * 4 + 4)
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64'),
});
export type ArtifactUpload = z.input<typeof artifactUpload>;

export const artifact = z.object({
  digest: sha256Digest,
  size: z.number().int(),
  kind: z.enum(['wasm']),
  created_at: z.string(),
});
export type Artifact = z.infer<typeof artifact>;

/** What a node downloads: the artifact with its bytes. */
export const artifactContent = artifact.extend({ content_base64: z.string() });
export type ArtifactContent = z.infer<typeof artifactContent>;
