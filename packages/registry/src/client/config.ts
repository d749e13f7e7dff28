import { isIP } from 'node:net';
import { registryEndpointHost } from '../reference.js';

/** Per-registry settings from the operator's configuration, keyed by registry host as written in references. */
export interface RegistrySettings {
  /** Speak plain HTTP to this registry. Loopback registries always do. */
  insecure?: boolean;
  username?: string;
  password?: string;
  /** Pull-through mirrors tried in order before the registry itself: `https://mirror.example` or `host:port`. */
  mirrors?: string[];
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface RegistryConfig {
  registries?: Record<string, RegistrySettings>;
  /** Platform to pick from an index or manifest list; linux/amd64 by default. */
  platform?: Platform;
}

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

/** One place to send requests for a registry: the registry itself or one of its mirrors. */
export interface Endpoint {
  /** `http://127.0.0.1:5000` or `https://registry-1.docker.io`, no trailing slash. */
  origin: string;
  /** host[:port], the key for settings and credentials of this endpoint. */
  host: string;
  credentials: Credentials | undefined;
  mirror: boolean;
}

export interface Credentials {
  username: string;
  password: string;
}

export function settingsFor(config: RegistryConfig, host: string): RegistrySettings {
  return config.registries?.[host] ?? {};
}

/** Mirrors first (as Docker does for Hub), then the registry. */
export function endpointsFor(config: RegistryConfig, registry: string): Endpoint[] {
  const settings = settingsFor(config, registry);
  const endpoints: Endpoint[] = [];
  for (const mirror of settings.mirrors ?? []) {
    const origin = mirrorOrigin(config, mirror);
    const host = new URL(origin).host;
    endpoints.push({ origin, host, credentials: credentialsOf(settingsFor(config, host)), mirror: true });
  }
  const host = registryEndpointHost(registry);
  endpoints.push({
    origin: `${schemeFor(config, registry)}://${host}`,
    host,
    credentials: credentialsOf(settings),
    mirror: false,
  });
  return endpoints;
}

function mirrorOrigin(config: RegistryConfig, mirror: string): string {
  if (/^https?:\/\//.test(mirror)) return new URL(mirror).origin;
  return `${schemeFor(config, mirror)}://${mirror.replace(/\/+$/, '')}`;
}

function credentialsOf(settings: RegistrySettings): Credentials | undefined {
  if (settings.username === undefined) return undefined;
  return { username: settings.username, password: settings.password ?? '' };
}

/** Plain HTTP only where nobody can sit in the middle (loopback) or where the operator said so; TLS elsewhere. */
export function schemeFor(config: RegistryConfig, hostPort: string): 'http' | 'https' {
  if (settingsFor(config, hostPort).insecure === true) return 'http';
  return isLoopbackHost(hostnameOf(hostPort)) ? 'http' : 'https';
}

export function hostnameOf(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const colon = hostPort.lastIndexOf(':');
  return colon === -1 ? hostPort : hostPort.slice(0, colon);
}

export function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true;
  if (isIP(hostname) === 4) return hostname.startsWith('127.');
  if (isIP(hostname) === 6) return hostname === '::1' || hostname === '0:0:0:0:0:0:0:1';
  return false;
}
