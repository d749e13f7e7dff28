// The edge server: start it, feed it route tables, close it with a drain.
export { startEdge, defaultTimeouts } from './server.js';
export type { StartEdgeOptions, EdgeServer, EdgeTimeouts } from './server.js';
export type { ListenHandle } from './process/listen-socket.js';

// TLS: the provider interface; the store fed from the control plane's certificate set; a fixed in-memory one.
export { staticCertificates } from './tls/certificate-provider.js';
export type { CertificateProvider, PemCertificate } from './tls/certificate-provider.js';
export { CertificateStore } from './tls/certificate-store.js';
export type { CertificateStoreOptions } from './tls/certificate-store.js';

// Rate limiting options (per client address).
export type { RateLimitOptions } from './proxy/rate-limiter.js';

// The link to the control plane: route table watch and certificate fetches; per-app traffic reports.
export { linkToControlPlane } from './control-plane/link.js';
export type { ControlPlaneLink, ControlPlaneLinkOptions } from './control-plane/link.js';
export { reportMetrics } from './control-plane/metrics-reporter.js';
export type { MetricsReporter, MetricsReporterOptions } from './control-plane/metrics-reporter.js';
