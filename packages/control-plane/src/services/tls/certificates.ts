import type { AcmeChallenge, EdgeCertificate } from '@shellwego/core';
import type { Deps } from '../context.js';
import { leads } from '../context.js';
import type { CertificatesTable } from '../../store/schema.js';
import { isLocalHostname } from './hostnames.js';
import { LocalCa } from './local-ca.js';
import type { IssuedCertificate } from './local-ca.js';
import type { AcmeIssuer, ChallengeBoard } from './acme-issuer.js';

/*
 * A custom domain's certificate:
 *
 *   pending ──(sweep or add)──▶ issuing ──▶ active ──(30 days before expiry: renew, stays active)──┐
 *      ▲                          │           ▲                                                  │
 *      │                          ▼           └──────────────────────────────────────────────────┘
 *   (no ACME configured:       failed ──(retry with backoff)──▶ issuing
 *    stays pending)
 *
 * Local names (`*.localhost`, `.test`, …) are certified by the local CA at once; public names over ACME HTTP-01.
 */

export const ACME_NOT_CONFIGURED = 'ACME is not configured';
/** Challenges in progress are `settings` rows `acme_challenge:<token>` → key authorization (public by design). */
const CHALLENGE_KEY = 'acme_challenge:';
const DAY_MS = 24 * 3600 * 1000;

export interface CertificateOptions {
  /** null: ACME is off and public domains stay `pending`. */
  acme: AcmeIssuer | null;
  /** Renew a certificate when less than this remains (default 30 days). */
  renewBeforeMs: number;
  /** How often the timer looks for domains to certify and certificates to renew. */
  sweepMs: number;
  /** After a failed order, wait `retryBaseMs` × 2^(failures − 1), at most `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Certificates or challenges changed: the edges should fetch again. */
  onChange: () => void;
}

export const defaultCertificateOptions: Omit<CertificateOptions, 'acme' | 'onChange'> = {
  renewBeforeMs: 30 * DAY_MS,
  sweepMs: 10_000,
  // Let's Encrypt allows 5 failed validations per hostname per hour; 5, 10, 20, 40 min stays under it.
  retryBaseMs: 5 * 60_000,
  retryMaxMs: 6 * 3600_000,
};

interface DomainWork {
  id: string;
  hostname: string;
  tls_status: string;
  last_acme_error: string | null;
  not_after: string | null;
}

/**
 * Issues, stores and renews TLS certificates, and hands them to the edges. Issuance runs in the background
 * (one at a time per hostname); the store holds each private key sealed with the Envelope.
 */
export class CertificateService {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, { count: number; retryAt: number }>();
  private readonly sweeps = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly deps: Deps,
    private readonly ca: LocalCa,
    private readonly options: CertificateOptions,
  ) {}

  /** Loads the local CA (creating it on first start). */
  static async create(deps: Deps, options: CertificateOptions): Promise<CertificateService> {
    return new CertificateService(deps, await LocalCa.load(deps), options);
  }

  /** The local CA's certificate, for users to trust (GET /v1/edge/ca.pem). */
  get caPem(): string {
    return this.ca.certPem;
  }

  /**
   * The HTTP-01 challenges in progress, for the edges' route table. In the store, not in memory: an edge may watch
   * a control plane other than the leader that orders the certificate.
   */
  async challenges(): Promise<AcmeChallenge[]> {
    const rows = await this.deps.store.db
      .selectFrom('settings')
      .select(['key', 'value'])
      .where('key', 'like', `${CHALLENGE_KEY}%`)
      .orderBy('key')
      .execute();
    return rows.map((r) => ({ token: r.key.slice(CHALLENGE_KEY.length), key_authorization: r.value }));
  }

  /** The key authorization for `token`, if a challenge with it is in progress. */
  async keyAuthorization(token: string): Promise<string | undefined> {
    const row = await this.deps.store.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', `${CHALLENGE_KEY}${token}`)
      .executeTakeFirst();
    return row?.value;
  }

  /** A domain was added: start on its certificate now rather than at the next sweep. Never throws. */
  domainAdded(hostname: string): void {
    this.sweepSoon(hostname);
  }

  /** This control plane just took the leader lease: catch up at once rather than at the next tick. */
  becameLeader(): void {
    if (this.timer) this.sweepSoon();
  }

  /** Starts the timer that certifies new domains, retries failed ones and renews expiring certificates. */
  start(): void {
    if (this.timer) return;
    this.sweepSoon();
    this.timer = setInterval(() => this.sweepSoon(), this.options.sweepMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for issuance in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.sweeps, ...this.inFlight.values()]);
  }

  /**
   * One pass: every domain without a valid certificate, or whose certificate expires within `renewBeforeMs`, is
   * (re)issued unless it failed recently; default-hostname certificates due for renewal are renewed too.
   * Resolves when that work is done.
   */
  async sweep(only?: string): Promise<void> {
    const now = this.deps.now();
    const due = new Date(now.getTime() + this.options.renewBeforeMs).toISOString();
    const db = this.deps.store.db;
    let query = db
      .selectFrom('domains')
      .leftJoin('certificates', 'certificates.hostname', 'domains.hostname')
      .select([
        'domains.id',
        'domains.hostname',
        'domains.tls_status',
        'domains.last_acme_error',
        'certificates.not_after',
      ])
      .where((eb) =>
        eb.or([eb('certificates.not_after', 'is', null), eb('certificates.not_after', '<', due)]),
      );
    if (only !== undefined) query = query.where('domains.hostname', '=', only);
    const work: Promise<void>[] = (await query.execute()).map((d) => this.certifyDomain(d, now));
    if (only === undefined) {
      const defaults = await db
        .selectFrom('certificates')
        .select(['hostname'])
        .where('domain_id', 'is', null)
        .where('not_after', '<', due)
        .execute();
      for (const c of defaults) work.push(this.once(c.hostname, () => this.renewDefault(c.hostname)));
      // One notice for the batch: each would make every edge recompute its route table.
      if (defaults.length > 0) void Promise.allSettled(work).then(() => this.options.onChange());
    }
    await Promise.all(work);
  }

  /**
   * Every certificate the edges should serve, keys unsealed. Apps' default hostnames under a local domain get a
   * local-CA certificate here the first time they are asked for (no change notice: the edge is reading them).
   */
  async edgeCertificates(): Promise<EdgeCertificate[]> {
    await this.certifyDefaultHostnames();
    const rows = await this.deps.store.db
      .selectFrom('certificates')
      .selectAll()
      .orderBy('hostname')
      .execute();
    return rows.map((r) => ({
      hostname: r.hostname,
      cert_pem: r.cert_pem,
      key_pem: this.deps.envelope.decrypt(r.key_sealed, aad(r.hostname)).toString('utf8'),
      not_after: r.not_after,
      redirect_https: r.issuer === 'acme',
    }));
  }

  private sweepSoon(only?: string): void {
    // Only the leader orders certificates; the others' sweeps would race it for the same domains.
    if (!leads(this.deps)) return;
    // Sweeps may overlap: work is deduplicated per hostname, so a slow order never delays another domain.
    const p = this.sweep(only).catch((err: unknown) => {
      this.deps.logger.warn({ err }, 'certificate sweep failed');
    });
    this.sweeps.add(p);
    void p.finally(() => this.sweeps.delete(p));
  }

  private async certifyDefaultHostnames(): Promise<void> {
    const db = this.deps.store.db;
    const [apps, issued] = await Promise.all([
      db.selectFrom('apps').select('name').execute(),
      db
        .selectFrom('certificates')
        .select(['hostname', 'not_after'])
        .where('domain_id', 'is', null)
        .execute(),
    ]);
    const have = new Map(issued.map((c) => [c.hostname, c.not_after]));
    const wanted = new Set(apps.map((a) => `${a.name}.${this.deps.settings.domain}`));
    const expired = this.deps.now().toISOString();
    const work: Promise<void>[] = [];
    for (const hostname of wanted) {
      const notAfter = have.get(hostname);
      if (!isLocalHostname(hostname) || (notAfter !== undefined && notAfter > expired)) continue;
      work.push(this.once(hostname, () => this.renewDefault(hostname)));
    }
    // A deleted app's default hostname must not keep a certificate the edge would serve.
    const gone = [...have.keys()].filter((h) => !wanted.has(h));
    if (gone.length > 0) await db.deleteFrom('certificates').where('hostname', 'in', gone).execute();
    await Promise.all(work);
  }

  private async renewDefault(hostname: string): Promise<void> {
    if (!isLocalHostname(hostname)) return;
    await this.save(hostname, null, 'local-ca', await this.ca.issue(hostname, this.deps.now()));
  }

  private certifyDomain(d: DomainWork, now: Date): Promise<void> {
    if (isLocalHostname(d.hostname)) {
      return this.once(d.hostname, async () => {
        await this.save(d.hostname, d.id, 'local-ca', await this.ca.issue(d.hostname, this.deps.now()));
        await this.setStatus(d.id, 'active', null);
        this.options.onChange();
      });
    }
    const acme = this.options.acme;
    if (!acme) {
      return d.last_acme_error === ACME_NOT_CONFIGURED && d.tls_status === 'pending'
        ? Promise.resolve()
        : this.setStatus(d.id, 'pending', ACME_NOT_CONFIGURED);
    }
    const failed = this.failures.get(d.hostname);
    if (failed && failed.retryAt > now.getTime()) return Promise.resolve();
    return this.once(d.hostname, () => this.order(acme, d));
  }

  private async order(acme: AcmeIssuer, d: DomainWork): Promise<void> {
    // A renewal keeps serving the current certificate, so the domain stays active meanwhile.
    const hasValid = d.not_after !== null && d.not_after > this.deps.now().toISOString();
    if (!hasValid) await this.setStatus(d.id, 'issuing', d.last_acme_error);
    let issued: IssuedCertificate;
    try {
      issued = await acme.issue(d.hostname, this.challengeBoard());
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const count = (this.failures.get(d.hostname)?.count ?? 0) + 1;
      const wait = Math.min(this.options.retryBaseMs * 2 ** (count - 1), this.options.retryMaxMs);
      this.failures.set(d.hostname, { count, retryAt: this.deps.now().getTime() + wait });
      this.deps.logger.warn({ hostname: d.hostname, error: message, retryInMs: wait }, 'ACME order failed');
      await this.setStatus(d.id, hasValid ? 'active' : 'failed', message);
      return;
    }
    this.failures.delete(d.hostname);
    await this.save(d.hostname, d.id, 'acme', issued);
    await this.setStatus(d.id, 'active', null);
    this.options.onChange();
  }

  private challengeBoard(): ChallengeBoard {
    const db = this.deps.store.db;
    return {
      publish: async (token, keyAuthorization) => {
        await db
          .insertInto('settings')
          .values({ key: `${CHALLENGE_KEY}${token}`, value: keyAuthorization })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: keyAuthorization }))
          .execute();
        this.options.onChange();
      },
      withdraw: async (token) => {
        const gone = await db
          .deleteFrom('settings')
          .where('key', '=', `${CHALLENGE_KEY}${token}`)
          .executeTakeFirst();
        if (Number(gone.numDeletedRows) > 0) this.options.onChange();
      },
    };
  }

  /** Runs `fn` unless work on `hostname` is already in progress (then waits for that instead). */
  private once(hostname: string, fn: () => Promise<void>): Promise<void> {
    const running = this.inFlight.get(hostname);
    if (running) return running;
    const p = fn().finally(() => this.inFlight.delete(hostname));
    this.inFlight.set(hostname, p);
    return p;
  }

  private async save(
    hostname: string,
    domainId: string | null,
    issuer: 'local-ca' | 'acme',
    issued: IssuedCertificate,
  ): Promise<void> {
    const now = this.deps.now().toISOString();
    const row: CertificatesTable = {
      hostname,
      domain_id: domainId,
      issuer,
      cert_pem: issued.certPem,
      key_sealed: this.deps.envelope.encrypt(issued.keyPem, aad(hostname)),
      not_after: issued.notAfter.toISOString(),
      created_at: now,
      updated_at: now,
    };
    await this.deps.store.db.transaction().execute(async (tx) => {
      // The domain may have been removed while its order ran: then its certificate is not wanted either.
      if (domainId !== null) {
        const exists = await tx
          .selectFrom('domains')
          .select('id')
          .where('id', '=', domainId)
          .executeTakeFirst();
        if (!exists) return;
      }
      await tx
        .insertInto('certificates')
        .values(row)
        .onConflict((oc) =>
          oc.column('hostname').doUpdateSet({
            domain_id: row.domain_id,
            issuer: row.issuer,
            cert_pem: row.cert_pem,
            key_sealed: row.key_sealed,
            not_after: row.not_after,
            updated_at: row.updated_at,
          }),
        )
        .execute();
    });
  }

  private async setStatus(domainId: string, status: string, error: string | null): Promise<void> {
    await this.deps.store.db
      .updateTable('domains')
      .set({ tls_status: status, last_acme_error: error })
      .where('id', '=', domainId)
      .execute();
  }
}

/** Binds a sealed key to its hostname, so a key copied onto another row fails to unseal. */
function aad(hostname: string): string {
  return `certificates:${hostname}`;
}
