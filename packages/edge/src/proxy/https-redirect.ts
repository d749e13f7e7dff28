import { normalizeHost } from '../routes/host.js';
import type { CertificateProvider } from '../tls/certificate-provider.js';

/**
 * Where a plain-HTTP request should go instead: its HTTPS URL once the hostname has a certificate of its own,
 * else undefined (served over HTTP). Hosts on the default certificate are not redirected: the browser would
 * meet a certificate for another name.
 */
export function httpsRedirector(
  certificates: CertificateProvider,
  httpsPort: number,
): (host: string, path: string) => string | undefined {
  const portSuffix = httpsPort === 443 ? '' : `:${httpsPort}`;
  return (host, path) => {
    const hostname = normalizeHost(host);
    if (hostname === undefined || certificates.contextFor(hostname) === undefined) return undefined;
    if (certificates.redirects !== undefined && !certificates.redirects(hostname)) return undefined;
    const authority = hostname.includes(':') ? `[${hostname}]` : hostname;
    return `https://${authority}${portSuffix}${path}`;
  };
}
