/**
 * A spec as the agent stores and compares it: without secret values, which never go to disk. Their versions stay
 * (`secret_versions` in the wire spec), so a rotated secret still changes the spec and replaces the instance.
 */
export function withoutSecrets(spec: unknown): unknown {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec) || !('secrets' in spec)) return spec;
  const { secrets: _values, ...rest } = spec as Record<string, unknown>;
  return rest;
}
