/** One challenge of a WWW-Authenticate header: `Bearer realm="…",service="…",scope="…"`. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses WWW-Authenticate (RFC 7235). Parameter values may be quoted with backslash escapes and contain commas,
 * which is why this is not a split(','): Docker Hub scopes such as "repository:a:pull,push" have them.
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const skip = (pattern: RegExp): void => {
    while (i < header.length && pattern.test(header.charAt(i))) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < header.length && /[^\s,=]/.test(header.charAt(i))) i++;
    return header.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < header.length) {
    skip(/[\s,]/);
    const start = i;
    const name = token();
    if (name.length === 0) break;
    skip(/\s/);
    if (header.charAt(i) === '=' && current !== undefined) {
      i++;
      skip(/\s/);
      current.params[name.toLowerCase()] = readValue();
      continue;
    }
    // Not followed by "=": a new scheme. (token68 credentials are not used by registries.)
    i = start + name.length;
    current = { scheme: name.toLowerCase(), params: {} };
    challenges.push(current);
  }
  return challenges;

  function readValue(): string {
    if (header.charAt(i) !== '"') return token();
    i++;
    let value = '';
    while (i < header.length && header.charAt(i) !== '"') {
      if (header.charAt(i) === '\\') i++;
      value += header.charAt(i);
      i++;
    }
    i++;
    return value;
  }
}
