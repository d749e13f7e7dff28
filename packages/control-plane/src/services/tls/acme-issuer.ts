import { Agent } from 'node:https';
import { X509Certificate } from 'node:crypto';
import acme from 'acme-client';
import type { Deps } from '../context.js';
import type { IssuedCertificate } from './local-ca.js';

/** The control plane's `acme` configuration. */
export interface AcmeSettings {
  /** The ACME directory, e.g. https://acme-v02.api.letsencrypt.org/directory. */
  directoryUrl: string;
  /** The account's contact address (expiry warnings from the CA go there). */
  email: string;
  /** Trust this CA for the directory's TLS listener (a private ACME server such as Pebble or step-ca). */
  caCertPem?: string | undefined;
}

/** Where HTTP-01 key authorizations are published for the edges to answer `/.well-known/acme-challenge/<token>`. */
export interface ChallengeBoard {
  /** Resolves once every control plane's edges can get it (stored, the edges' tables told). */
  publish(token: string, keyAuthorization: string): Promise<void>;
  withdraw(token: string): Promise<void>;
}

export interface AcmeTimings {
  /** acme-client's status polling: first wait and upper bound. */
  backoffMinMs: number;
  backoffMaxMs: number;
}

const ACCOUNT_SETTING = 'acme_account_key';

/** An ACME failure with the CA's own words (no stack), for `last_acme_error`. */
export class AcmeIssueError extends Error {}

/**
 * Orders certificates over ACME with HTTP-01 (RFC 8555 §8.3). The account key is created once and kept sealed in
 * `settings`; each certificate gets a new EC P-256 key.
 */
export class AcmeIssuer {
  private client: Promise<acme.Client> | undefined;

  constructor(
    private readonly deps: Pick<Deps, 'store' | 'envelope'>,
    private readonly settings: AcmeSettings,
    private readonly timings: AcmeTimings = { backoffMinMs: 1000, backoffMaxMs: 10_000 },
  ) {
    if (settings.caCertPem !== undefined) {
      // acme-client offers no per-client TLS options: its one axios instance is the only place a CA can go.
      acme.axios.defaults.httpsAgent = new Agent({ ca: settings.caCertPem });
    }
  }

  /** Orders, proves (HTTP-01 through `board`) and downloads a certificate for `hostname`. */
  async issue(hostname: string, board: ChallengeBoard): Promise<IssuedCertificate> {
    if (hostname.startsWith('*.')) {
      throw new AcmeIssueError(
        'wildcard names need the DNS-01 challenge, which ShellWeGo does not support yet',
      );
    }
    try {
      return await this.order(hostname, board);
    } catch (e) {
      if (e instanceof AcmeIssueError) throw e;
      throw new AcmeIssueError(describe(e), { cause: e });
    }
  }

  private async order(hostname: string, board: ChallengeBoard): Promise<IssuedCertificate> {
    const client = await this.account();
    const order = await client.createOrder({ identifiers: [{ type: 'dns', value: hostname }] });
    for (const authz of await client.getAuthorizations(order)) {
      if (authz.status === 'valid') continue;
      const challenge = authz.challenges.find((c) => c.type === 'http-01');
      if (!challenge) throw new AcmeIssueError(`the ACME server offers no http-01 challenge for ${hostname}`);
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      await board.publish(challenge.token, keyAuthorization);
      try {
        // No verifyChallenge(): its self-check resolves the name through this host's DNS, which may not see it.
        await client.completeChallenge(challenge);
        await client.waitForValidStatus(challenge);
      } finally {
        await board.withdraw(challenge.token);
      }
    }
    const [keyPem, csr] = await acme.crypto.createCsr(
      { commonName: hostname, altNames: [hostname] },
      await acme.crypto.createPrivateEcdsaKey('P-256'),
    );
    const finalized = await client.finalizeOrder(order, csr);
    const certPem = await client.getCertificate(finalized);
    return {
      certPem,
      keyPem: keyPem.toString('utf8'),
      notAfter: new Date(new X509Certificate(certPem).validTo),
    };
  }

  /** The ACME client with its account registered (once; a failure is retried on the next call). */
  private account(): Promise<acme.Client> {
    this.client ??= this.register().catch((e: unknown) => {
      this.client = undefined;
      throw e;
    });
    return this.client;
  }

  private async register(): Promise<acme.Client> {
    const client = new acme.Client({
      directoryUrl: this.settings.directoryUrl,
      accountKey: await this.accountKey(),
      backoffMin: this.timings.backoffMinMs,
      backoffMax: this.timings.backoffMaxMs,
    });
    // Idempotent: for a key the CA already knows it returns the existing account.
    await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${this.settings.email}`] });
    return client;
  }

  private async accountKey(): Promise<string> {
    const db = this.deps.store.db;
    const read = async (): Promise<string | undefined> =>
      (await db.selectFrom('settings').select('value').where('key', '=', ACCOUNT_SETTING).executeTakeFirst())
        ?.value;
    let sealed = await read();
    if (sealed === undefined) {
      const key = await acme.crypto.createPrivateEcdsaKey('P-256');
      await db
        .insertInto('settings')
        .values({
          key: ACCOUNT_SETTING,
          value: this.deps.envelope.encrypt(key, `settings:${ACCOUNT_SETTING}`),
        })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      sealed = await read();
      if (sealed === undefined) throw new Error('the ACME account key vanished right after it was stored');
    }
    return this.deps.envelope.decrypt(sealed, `settings:${ACCOUNT_SETTING}`).toString('utf8');
  }
}

/** One line a person can act on: the CA's problem detail when there is one, never a stack. */
function describe(e: unknown): string {
  const data = (e as { response?: { data?: { detail?: unknown; type?: unknown } } }).response?.data;
  if (data && typeof data.detail === 'string') return data.detail;
  const message = e instanceof Error ? e.message : String(e);
  return message.split('\n')[0] ?? 'unknown ACME error';
}
