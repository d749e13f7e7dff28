import { CommandError, ip } from './exec.js';

/** Kind and addresses of one link, as far as the network layer cares. */
export interface LinkInfo {
  kind: string | undefined;
  master: string | undefined;
  addresses: { local: string; prefixlen: number }[];
}

/** The link named `name` (inside netns `ns` when given), or undefined when there is none. */
export async function findLink(name: string, ns?: string): Promise<LinkInfo | undefined> {
  const nsArgs = ns === undefined ? [] : ['-n', ns];
  let out: string;
  try {
    out = await ip(...nsArgs, '-j', '-d', 'addr', 'show', 'dev', name);
  } catch (e) {
    if (e instanceof CommandError && /does not exist/.test(e.stderr)) return undefined;
    throw e;
  }
  const [link] = JSON.parse(out) as {
    master?: string;
    linkinfo?: { info_kind?: string };
    addr_info?: { family: string; local: string; prefixlen: number }[];
  }[];
  if (link === undefined) return undefined;
  return {
    kind: link.linkinfo?.info_kind,
    master: link.master,
    addresses: (link.addr_info ?? []).filter((a) => a.family === 'inet'),
  };
}

/** Names of the host's links (without the `@peer` suffix). */
export async function listLinks(): Promise<string[]> {
  const links = JSON.parse(await ip('-j', 'link', 'show')) as { ifname: string }[];
  return links.map((l) => l.ifname);
}

/** Names of the network namespaces under /var/run/netns. */
export async function listNamespaces(): Promise<string[]> {
  const out = await ip('-j', 'netns', 'list');
  // With no namespaces at all, iproute2 prints nothing rather than "[]".
  if (out.trim() === '') return [];
  return (JSON.parse(out) as { name: string }[]).map((n) => n.name);
}

/**
 * Runs a delete and treats "it was already gone" as success, judged by looking again rather than by parsing
 * iproute2's wording, which differs between versions.
 */
export async function deleteIfPresent(
  del: () => Promise<unknown>,
  stillThere: () => Promise<boolean>,
): Promise<void> {
  try {
    await del();
  } catch (e) {
    if (await stillThere()) throw e;
  }
}

/** Deletes a host link; one that is already gone is fine. */
export async function removeLink(name: string): Promise<void> {
  await deleteIfPresent(
    () => ip('link', 'del', name),
    async () => (await findLink(name)) !== undefined,
  );
}

/** Deletes a network namespace, and with it every interface inside; one that is already gone is fine. */
export async function removeNamespace(name: string): Promise<void> {
  await deleteIfPresent(
    () => ip('netns', 'del', name),
    async () => (await listNamespaces()).includes(name),
  );
}
