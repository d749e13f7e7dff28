import { z } from 'zod';

/** One certificate the edge serves (`GET /v1/edge/certificates`, platform admins only). */
export const edgeCertificate = z.object({
  hostname: z.string(),
  /** The leaf first, then its chain (PEM). */
  cert_pem: z.string(),
  /** The private key (PKCS#8 PEM): this endpoint is the only place it leaves the store unsealed. */
  key_pem: z.string(),
  not_after: z.string(),
  /**
   * Plain HTTP for this hostname is redirected to HTTPS: only for publicly trusted (ACME) certificates; a local
   * CA's certificate is there for those who trust that CA, while plain HTTP keeps working for everyone else.
   */
  redirect_https: z.boolean().default(false),
});
export type EdgeCertificate = z.infer<typeof edgeCertificate>;

export const edgeCertificateList = z.object({ items: z.array(edgeCertificate) });
export type EdgeCertificateList = z.infer<typeof edgeCertificateList>;

/** An HTTP-01 challenge in progress: the edge answers `/.well-known/acme-challenge/<token>` with `key_authorization`. */
export const acmeChallenge = z.object({ token: z.string(), key_authorization: z.string() });
export type AcmeChallenge = z.infer<typeof acmeChallenge>;
