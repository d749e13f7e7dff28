import { RegistryError } from './client/errors.js';

/**
 * An image reference, normalised the way Docker does it: `nginx` is `docker.io/library/nginx:latest`.
 * A reference has a tag, a digest, or both (`name:tag@sha256:…` pins the tag to the digest).
 */
export interface ImageReference {
  /** Registry host as written, with port: `docker.io`, `localhost:5000`, `127.0.0.1:5000`. */
  registry: string;
  /** Repository path inside the registry: `library/nginx`, `a/b`. */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ENDPOINT = 'registry-1.docker.io';
const DEFAULT_TAG = 'latest';
const MAX_NAME_LENGTH = 255;

// Grammar from distribution/reference (OCI.md §1).
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DOMAIN_LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const IPV6_HOST = /^\[[0-9a-fA-F:.]+\]$/;
const PORT = /^[0-9]{1,5}$/;
const DIGESTS: Record<string, RegExp> = { sha256: /^[a-f0-9]{64}$/, sha512: /^[a-f0-9]{128}$/ };

function invalid(input: string, why: string): RegistryError {
  return new RegistryError('INVALID_REFERENCE', `Invalid image reference "${input}": ${why}`, {
    hint: 'Write it as [registry/]repository[:tag][@sha256:<64 hex>], e.g. nginx:1.27 or ghcr.io/org/app@sha256:…',
  });
}

/** Parses an image reference with Docker's conventions; throws INVALID_REFERENCE naming what is wrong. */
export function parseReference(input: string): ImageReference {
  if (input.length === 0) throw invalid(input, 'it is empty');
  if (input.trim() !== input) throw invalid(input, 'it has leading or trailing whitespace');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    checkDigest(input, digest);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  // A colon before the last slash is a registry port (`host:5000/app`), not a tag.
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw invalid(
        input,
        `tag "${tag}" must be 1-128 characters of letters, digits, "_", "." and "-", not starting with "." or "-"`,
      );
    }
  }
  if (rest.length === 0) throw invalid(input, 'the repository name is missing');

  const { registry, path } = splitRegistry(input, rest);
  const repository = registry === DOCKER_HUB && !path.includes('/') ? `library/${path}` : path;
  if (repository.length > MAX_NAME_LENGTH)
    throw invalid(input, `the repository name is longer than ${MAX_NAME_LENGTH} characters`);
  for (const component of repository.split('/')) {
    if (component.length === 0)
      throw invalid(input, 'the repository name has an empty path component ("//" or a trailing "/")');
    if (component !== component.toLowerCase())
      throw invalid(input, `repository name "${repository}" must be lowercase`);
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(
        input,
        `repository path component "${component}" may hold only a-z, 0-9 and single ".", "_", "__" or "-" separators`,
      );
    }
  }

  const ref: ImageReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) ref.tag = DEFAULT_TAG;
  return ref;
}

function checkDigest(input: string, digest: string): void {
  const [algorithm, hex, extra] = digest.split(':');
  if (algorithm === undefined || hex === undefined || extra !== undefined) {
    throw invalid(input, `digest "${digest}" must look like sha256:<64 lowercase hex digits>`);
  }
  const pattern = DIGESTS[algorithm];
  if (pattern === undefined)
    throw invalid(input, `digest algorithm "${algorithm}" is not supported (use sha256 or sha512)`);
  if (!pattern.test(hex)) {
    throw invalid(
      input,
      `${algorithm} digest must be ${algorithm === 'sha256' ? 64 : 128} lowercase hex digits, got "${hex}"`,
    );
  }
}

/** Docker's rule: the first component is a registry when it has a "." or ":", is "localhost", or has uppercase. */
function splitRegistry(input: string, name: string): { registry: string; path: string } {
  const slash = name.indexOf('/');
  if (slash === -1) return { registry: DOCKER_HUB, path: name };
  const first = name.slice(0, slash);
  const looksLikeHost = /[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase();
  if (!looksLikeHost) return { registry: DOCKER_HUB, path: name };
  checkRegistryHost(input, first);
  // index.docker.io is the legacy name of Docker Hub; keep one spelling so refs compare equal.
  return { registry: first === 'index.docker.io' ? DOCKER_HUB : first, path: name.slice(slash + 1) };
}

function checkRegistryHost(input: string, hostPort: string): void {
  let host = hostPort;
  const portAt = hostPort.lastIndexOf(':');
  if (portAt !== -1 && !hostPort.endsWith(']')) {
    const port = hostPort.slice(portAt + 1);
    host = hostPort.slice(0, portAt);
    if (!PORT.test(port) || Number(port) > 65535)
      throw invalid(input, `registry port "${port}" is not a number from 0 to 65535`);
  }
  if (IPV6_HOST.test(host)) return;
  if (!host.split('.').every((label) => DOMAIN_LABEL.test(label))) {
    throw invalid(input, `registry host "${host}" is not a valid host name`);
  }
}

/** The fully qualified form: `docker.io/library/nginx:latest`, `host:5000/a/b:1@sha256:…`. */
export function formatReference(ref: ImageReference): string {
  let out = `${ref.registry}/${ref.repository}`;
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}

/** Host to send API requests to: Docker Hub's API does not live at docker.io itself. */
export function registryEndpointHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_ENDPOINT : registry;
}

/** What to put after /manifests/: the digest wins over the tag, since it pins the content. */
export function manifestSelector(ref: ImageReference): string {
  const selector = ref.digest ?? ref.tag;
  if (selector === undefined)
    throw new Error(`BUG: reference ${formatReference(ref)} has neither tag nor digest`);
  return selector;
}
