import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import { schemas, type EdgeCertificate } from '@shellwego/core';
import type { Logger } from 'pino';
import { writeFileAtomic } from '../routes/atomic-write.js';
import type { CertificateProvider, PemCertificate } from './certificate-provider.js';

export interface CertificateStoreOptions {
  /** Where the last certificate set is kept (`certificates.json`, mode 0600: it holds private keys). */
  stateDir: string;
  /**
   * Served to SNI names without a certificate of their own. Absent: any certificate of the set (a browser warns,
   * as it should for a name the platform does not serve), or none at all while the set is empty.
   */
  defaultCertificate?: PemCertificate;
  logger: Logger;
}

interface Persisted {
  revision: number;
  items: EdgeCertificate[];
}

/**
 * The certificates the control plane hands the edge (`GET /v1/edge/certificates`), as a CertificateProvider.
 * `replace` swaps the whole set at once and persists it, so a restarted edge serves every certificate it had
 * before the control plane answers. Contexts of unchanged certificates are kept, not rebuilt.
 */
export class CertificateStore implements CertificateProvider {
  private contexts = new Map<string, { pem: string; context: SecureContext; redirect: boolean }>();
  private readonly fallback: SecureContext | undefined;
  private readonly empty = createSecureContext({});
  private readonly file: string;
  private current = 0;

  constructor(private readonly options: CertificateStoreOptions) {
    this.fallback = options.defaultCertificate && createSecureContext(options.defaultCertificate);
    this.file = join(options.stateDir, 'certificates.json');
  }

  /** The `certificates_revision` of the set being served (0 before any). */
  get revision(): number {
    return this.current;
  }

  contextFor(hostname: string): SecureContext | undefined {
    return this.entryFor(hostname)?.context;
  }

  redirects(hostname: string): boolean {
    return this.entryFor(hostname)?.redirect ?? false;
  }

  private entryFor(hostname: string): { context: SecureContext; redirect: boolean } | undefined {
    const exact = this.contexts.get(hostname);
    if (exact !== undefined) return exact;
    const dot = hostname.indexOf('.');
    return dot === -1 ? undefined : this.contexts.get(`*${hostname.slice(dot)}`);
  }

  default(): SecureContext {
    return this.fallback ?? this.contexts.values().next().value?.context ?? this.empty;
  }

  /** Serves `items` from now on (an unusable certificate is logged and skipped), then persists them. */
  async replace(revision: number, items: EdgeCertificate[]): Promise<void> {
    this.apply(revision, items);
    await mkdir(this.options.stateDir, { recursive: true, mode: 0o700 });
    const persisted: Persisted = { revision, items };
    await writeFileAtomic(this.file, JSON.stringify(persisted));
  }

  /** Loads the set persisted by a previous run, if any. Returns whether one was loaded. */
  async load(): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      // readFile fails with an ErrnoException; only "no file yet" is expected.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const persisted = schemas.edgeCertificateList
      .extend({ revision: schemas.edgeRouteTable.shape.certificates_revision })
      .safeParse(parsed);
    if (!persisted.success) {
      this.options.logger.warn({ file: this.file }, 'ignoring an unreadable certificate set');
      return false;
    }
    this.apply(persisted.data.revision, persisted.data.items);
    return true;
  }

  private apply(revision: number, items: EdgeCertificate[]): void {
    const next = new Map<string, { pem: string; context: SecureContext; redirect: boolean }>();
    for (const item of items) {
      const hostname = item.hostname.toLowerCase();
      const pem = item.cert_pem + item.key_pem;
      const kept = this.contexts.get(hostname);
      if (kept?.pem === pem) {
        next.set(hostname, { ...kept, redirect: item.redirect_https });
        continue;
      }
      try {
        next.set(hostname, {
          pem,
          context: createSecureContext({ cert: item.cert_pem, key: item.key_pem }),
          redirect: item.redirect_https,
        });
      } catch (error) {
        this.options.logger.warn({ err: error, hostname }, 'skipping an unusable certificate');
      }
    }
    this.contexts = next;
    this.current = revision;
  }
}
