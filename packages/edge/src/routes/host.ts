/**
 * The hostname a request is for, from a `Host` header or an h2 `:authority`: lower-cased, without the port and
 * without a trailing dot, so `App.Example.com:443` and `app.example.com.` find the same route.
 */
export function normalizeHost(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  let host = value.trim().toLowerCase();
  if (host.startsWith('[')) {
    // IPv6 literal: keep the brackets' content, drop the port after `]`.
    const end = host.indexOf(']');
    host = end === -1 ? host : host.slice(1, end);
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host === '' ? undefined : host;
}
