import { randomBytes, webcrypto } from 'node:crypto';
import type { webcrypto as WebCrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import type { Deps } from '../context.js';

// @peculiar/x509 signs through WebCrypto; hand it Node's implementation rather than rely on a global.
x509.cryptoProvider.set(webcrypto);

const SETTING = 'local_ca';
const EC: WebCrypto.EcKeyGenParams & WebCrypto.EcdsaParams = {
  name: 'ECDSA',
  namedCurve: 'P-256',
  hash: 'SHA-256',
};
const DAY_MS = 24 * 3600 * 1000;
export const CA_VALIDITY_DAYS = 3650;
export const LEAF_VALIDITY_DAYS = 90;
/** Leaves start an hour in the past, so a client whose clock is a little behind accepts them. */
const BACKDATE_MS = 3600 * 1000;

/** A certificate with its private key, as the edge needs it. */
export interface IssuedCertificate {
  /** The leaf first, then its chain. */
  certPem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
  notAfter: Date;
}

interface StoredCa {
  cert_pem: string;
  /** PKCS#8 PEM sealed with the Envelope. */
  key_sealed: string;
}

/**
 * The platform's own certificate authority, for hostnames that no public CA will certify (`*.localhost`,
 * `.test`, …). Created once (EC P-256, ten years) and kept in `settings`, its key sealed with the Envelope.
 * Users trust it by installing the certificate served at GET /v1/edge/ca.pem.
 */
export class LocalCa {
  private constructor(
    /** The CA certificate (public), PEM. */
    readonly certPem: string,
    private readonly cert: x509.X509Certificate,
    private readonly key: WebCrypto.CryptoKey,
  ) {}

  /** Loads the CA from the store, creating it on first start (two servers at once: the first insert wins). */
  static async load(deps: Pick<Deps, 'store' | 'envelope' | 'now'>): Promise<LocalCa> {
    const db = deps.store.db;
    const read = async (): Promise<string | undefined> =>
      (await db.selectFrom('settings').select('value').where('key', '=', SETTING).executeTakeFirst())?.value;
    let value = await read();
    if (value === undefined) {
      const created = await createCa(deps.now());
      const stored: StoredCa = {
        cert_pem: created.certPem,
        key_sealed: deps.envelope.encrypt(created.keyPem, `settings:${SETTING}`),
      };
      await db
        .insertInto('settings')
        .values({ key: SETTING, value: JSON.stringify(stored) })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      value = await read();
      if (value === undefined) throw new Error('the local CA vanished right after it was stored');
    }
    const stored = JSON.parse(value) as StoredCa;
    const keyPem = deps.envelope.decrypt(stored.key_sealed, `settings:${SETTING}`).toString('utf8');
    const key = await importPrivateKey(keyPem);
    return new LocalCa(stored.cert_pem, new x509.X509Certificate(stored.cert_pem), key);
  }

  /** A leaf for `hostname` (SAN = the hostname), valid 90 days from `now`, with a new key. */
  async issue(hostname: string, now: Date): Promise<IssuedCertificate> {
    const keys = await generateKeys();
    const notAfter = new Date(now.getTime() + LEAF_VALIDITY_DAYS * DAY_MS);
    const ip = hostname.replace(/^\[|\]$/g, '');
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: new x509.Name([{ CN: [hostname] }]),
      issuer: this.cert.subjectName,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter,
      signingAlgorithm: EC,
      publicKey: keys.publicKey,
      signingKey: this.key,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          isIP(ip) === 0 ? { type: 'dns', value: hostname } : { type: 'ip', value: ip },
        ]),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return {
      certPem: `${leaf.toString('pem')}\n${this.certPem}\n`,
      keyPem: await exportPrivateKey(keys.privateKey),
      notAfter,
    };
  }
}

async function createCa(now: Date): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateKeys();
  // A distinct name per installation: trusting two platforms' CAs must not make them collide.
  const name = `CN=ShellWeGo local CA ${randomBytes(4).toString('hex')}, O=ShellWeGo`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: EC,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKey(keys.privateKey) };
}

function generateKeys(): Promise<WebCrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
}

async function exportPrivateKey(key: WebCrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

function importPrivateKey(pem: string): Promise<WebCrypto.CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
}

/** 16 random bytes, high bit clear so the DER integer stays positive (RFC 5280 §4.1.2.2). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}
