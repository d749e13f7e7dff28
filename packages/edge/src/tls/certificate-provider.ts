import { createSecureContext, type SecureContext } from 'node:tls';

/**
 * Where the edge gets certificates during TLS handshakes. The control plane's certificate store (and ACME)
 * implement it; `staticCertificates` is the simple in-memory one.
 */
export interface CertificateProvider {
  /**
   * The context for a hostname (lower-case, no trailing dot) that has its own certificate, else undefined.
   * Called on every handshake that carries SNI, so it must be a cheap lookup.
   */
  contextFor(hostname: string): SecureContext | undefined;
  /**
   * The context for SNI names without a certificate of their own. Never used for a name `contextFor` knows.
   * Handshakes without SNI get no certificate at all and fail.
   */
  default(): SecureContext;
  /** Whether plain HTTP for this hostname goes to HTTPS; absent: whenever the hostname has its own certificate. */
  redirects?(hostname: string): boolean;
}

export interface PemCertificate {
  key: string | Buffer;
  cert: string | Buffer;
}

/**
 * A provider over fixed PEM pairs: `byHostname` keys are exact names or `*.example.com` wildcards (one label).
 * Contexts are built once, here.
 */
export function staticCertificates(options: {
  default: PemCertificate;
  byHostname?: Record<string, PemCertificate>;
}): CertificateProvider {
  const fallback = createSecureContext(options.default);
  const contexts = new Map<string, SecureContext>();
  for (const [name, pem] of Object.entries(options.byHostname ?? {})) {
    contexts.set(name.toLowerCase(), createSecureContext(pem));
  }
  return {
    contextFor(hostname) {
      const exact = contexts.get(hostname);
      if (exact !== undefined) return exact;
      const dot = hostname.indexOf('.');
      return dot === -1 ? undefined : contexts.get(`*${hostname.slice(dot)}`);
    },
    default: () => fallback,
  };
}
