import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import type { Logger } from 'pino';
import { schemas } from '@shellwego/core';
import type { Deps } from './context.js';

/**
 * White-label branding from the operator's `branding.yml` (in the data dir). The file is read again whenever its
 * size, mtime or inode change, so an edit shows without a restart. A bad file never breaks the dashboard: the
 * defaults (or the last good file) stay, and the answer carries the error for the operator to see.
 */

const urlLike = /^(https?:\/\/|data:image\/)/i;

const assetRef = z
  .string()
  .trim()
  .min(1)
  .max(64 * 1024)
  .refine(
    (v) => urlLike.test(v) || (!isAbsolute(v) && !v.split(/[\\/]/).includes('..')),
    'must be an http(s) URL, a data:image/… URI or a file name next to branding.yml',
  );

export const brandingFile = z
  .preprocess(
    (raw) => {
      // An empty file parses as null: the defaults.
      if (raw === null || raw === undefined) return {};
      if (typeof raw !== 'object' || Array.isArray(raw)) return raw;
      const o = { ...(raw as Record<string, unknown>) };
      // British spelling and camelCase are accepted as aliases.
      for (const alias of ['primary_colour', 'primaryColor', 'primaryColour']) {
        if (alias in o) {
          o.primary_color ??= o[alias];
          delete o[alias];
        }
      }
      return o;
    },
    z.strictObject({
      name: z.string().trim().min(1).max(80).default('ShellWeGo'),
      logo: assetRef.optional(),
      favicon: assetRef.optional(),
      primary_color: z
        .string()
        .trim()
        .regex(/^#([0-9a-f]{3}|[0-9a-f]{6})$/i, 'must be a hex colour such as "#4f46e5" (quote it in YAML)')
        .default('#4f46e5'),
      font: z
        .string()
        .trim()
        .max(200)
        .regex(/^[\w\s,"'-]+$/, 'must be a CSS font-family list such as "Inter, system-ui, sans-serif"')
        .optional(),
      footer: z.string().trim().max(500).optional(),
    }),
  )
  .describe('branding.yml');
export type BrandingFile = z.output<typeof brandingFile>;

/** What `GET /v1/branding` answers (public: the login page needs it). */
/** The answer of GET /v1/branding: one schema in core for the API, the client and the dashboard. */
export const brandingResponse = schemas.branding;
export type Branding = z.infer<typeof brandingResponse>;

export type BrandingAsset = 'logo' | 'favicon';

const assetTypes: Record<string, string> = {
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
};

/** Turns the text of branding.yml into its settings, or throws an Error whose message names the line or field. */
export function parseBranding(text: string): BrandingFile {
  let raw: unknown;
  try {
    raw = parse(text, { prettyErrors: true });
  } catch (e) {
    throw new Error(`branding.yml is not valid YAML: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
  const parsed = brandingFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.length ? issue.path.join('.') : '(top level)';
    throw new Error(`branding.yml: ${at}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

const defaults: BrandingFile = parseBranding('');

interface Loaded {
  /** size:mtime:inode of the file read, or "absent". */
  version: string;
  settings: BrandingFile;
  source: 'file' | 'default';
  error: string | null;
}

export class BrandingService {
  private loaded: Loaded | undefined;
  private readonly dir: string;

  constructor(
    /** Absolute path of branding.yml; null: the defaults only. */
    private readonly file: string | null,
    private readonly logger?: Logger,
  ) {
    this.dir = file === null ? '' : dirname(file);
  }

  async current(): Promise<Branding> {
    const { settings, source, error, version } = await this.load();
    const assetUrl = (kind: BrandingAsset, ref: string | undefined): string | null => {
      if (ref === undefined) return null;
      if (urlLike.test(ref)) return ref;
      // The version makes browsers fetch a replaced file at once.
      return `/v1/branding/${kind}?v=${encodeURIComponent(version)}`;
    };
    return {
      name: settings.name,
      logo_url: assetUrl('logo', settings.logo),
      favicon_url: assetUrl('favicon', settings.favicon),
      primary_color: settings.primary_color,
      font: settings.font ?? null,
      footer: settings.footer ?? null,
      source,
      error,
    };
  }

  /** A logo or favicon given as a file next to branding.yml: its bytes and type, or null. */
  async asset(kind: BrandingAsset): Promise<{ body: Buffer; type: string } | null> {
    const { settings } = await this.load();
    const ref = settings[kind];
    if (ref === undefined || urlLike.test(ref) || this.file === null) return null;
    const path = resolve(this.dir, ref);
    const rel = relative(this.dir, path);
    if (rel.startsWith('..') || isAbsolute(rel)) return null;
    const type = assetTypes[extname(path).toLowerCase()];
    if (type === undefined) return null;
    try {
      return { body: await readFile(path), type };
    } catch {
      return null;
    }
  }

  private async load(): Promise<Loaded> {
    if (this.file === null) return { version: 'absent', settings: defaults, source: 'default', error: null };
    let version = 'absent';
    try {
      const s = await stat(this.file);
      version = `${s.size}-${Math.trunc(s.mtimeMs)}-${s.ino}`;
    } catch {
      // Absent: the defaults.
    }
    if (this.loaded?.version === version) return this.loaded;
    let next: Loaded;
    if (version === 'absent') next = { version, settings: defaults, source: 'default', error: null };
    else {
      try {
        next = {
          version,
          settings: parseBranding(await readFile(this.file, 'utf8')),
          source: 'file',
          error: null,
        };
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        this.logger?.warn({ file: this.file, error }, 'branding.yml refused; keeping the previous branding');
        // Keep what served before (the defaults on a first read) and say why the file was refused.
        next = {
          version,
          settings: this.loaded?.settings ?? defaults,
          source: this.loaded?.source ?? 'default',
          error,
        };
      }
    }
    this.loaded = next;
    return next;
  }
}

// The HTTP layer attaches the control plane's branding (it knows the data dir); without one, the defaults answer.
const registry = new WeakMap<Deps, BrandingService>();
const defaultsOnly = new BrandingService(null);

export function provideBranding(deps: Deps, service: BrandingService): void {
  registry.set(deps, service);
}

export function brandingFor(deps: Deps): BrandingService {
  return registry.get(deps) ?? defaultsOnly;
}
