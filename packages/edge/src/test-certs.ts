import { selfSignedCertificate as makeCertificate } from '@shellwego/testkit';
import type { PemCertificate } from './tls/certificate-provider.js';

/** A self-signed P-256 certificate for `hostname` (CN and SAN), made by openssl in `dir`. */
export async function selfSignedCertificate(dir: string, hostname: string): Promise<PemCertificate> {
  const c = await makeCertificate(dir, {
    name: hostname,
    subject: hostname,
    subjectAltName: `DNS:${hostname}`,
  });
  return { key: c.keyPem, cert: c.certPem };
}
