/** `/apps/:app/:tab?` against a path: the named segments, or null. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const have = path.split('/').filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < Math.max(want.length, have.length); i++) {
    const w = want[i];
    const h = have[i];
    if (w === undefined) return null;
    const optional = w.endsWith('?');
    if (h === undefined) {
      if (optional) continue;
      return null;
    }
    if (w.startsWith(':')) params[w.slice(1).replace(/\?$/, '')] = decodeURIComponent(h);
    else if (w !== h) return null;
  }
  return params;
}
