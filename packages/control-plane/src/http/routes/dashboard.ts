import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve, isAbsolute } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../services/index.js';
import { BrandingService, brandingFor, provideBranding } from '../../services/branding.js';
import type { BrandingAsset } from '../../services/branding.js';

/**
 * The web dashboard's files at `/` (any path outside /v1 that is not a file gets index.html: the app routes itself),
 * the branding's logo and favicon files, and WebSocket credentials from a browser (which cannot set headers there).
 */
export interface DashboardSettings {
  dataDir: string;
  /** The dashboard's built files (packages/dashboard/dist); without it, `/` says the dashboard is not built. */
  dashboardDir?: string | undefined;
}

/** `Sec-WebSocket-Protocol: shellwego, bearer.<token>`: the ws server echoes the first, `shellwego`. */
const BEARER_PROTOCOL = /^bearer\.([A-Za-z0-9._~+/=-]+)$/;

export function bearerFromProtocols(header: string | undefined): string | undefined {
  for (const p of (header ?? '').split(',')) {
    const m = BEARER_PROTOCOL.exec(p.trim());
    if (m) return m[1];
  }
  return undefined;
}

const notBuiltPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dashboard not built</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>The dashboard is not built</h1>
<p>The API works at <a href="/v1/health">/v1</a>. To serve the web dashboard here, build it with
<code>npm run build</code> (or <code>npx vite build packages/dashboard</code>) and restart.</p></body></html>`;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export async function registerDashboard(
  app: FastifyInstance,
  services: Services,
  settings: DashboardSettings,
): Promise<void> {
  const branding = new BrandingService(join(settings.dataDir, 'branding.yml'), services.deps.logger);
  provideBranding(services.deps, branding);

  app.addHook('onRequest', (req, _reply, done) => {
    if (req.headers.authorization === undefined && req.headers.upgrade?.toLowerCase() === 'websocket') {
      const token = bearerFromProtocols(req.headers['sec-websocket-protocol']);
      if (token !== undefined) req.headers.authorization = `Bearer ${token}`;
    }
    done();
  });

  const sendAsset = async (kind: BrandingAsset, reply: FastifyReply): Promise<FastifyReply> => {
    const asset = await brandingFor(services.deps).asset(kind);
    if (!asset) {
      reply.callNotFound();
      return reply;
    }
    return reply.type(asset.type).header('cache-control', 'public, max-age=300').send(asset.body);
  };
  app.get('/v1/branding/logo', (_req, reply) => sendAsset('logo', reply));
  app.get('/v1/branding/favicon', (_req, reply) => sendAsset('favicon', reply));

  const root = settings.dashboardDir === undefined ? undefined : resolve(settings.dashboardDir);
  const built = root !== undefined && existsSync(join(root, 'index.html'));
  if (built) await app.register(fastifyStatic, { root, serve: false, index: false });
  else services.deps.logger.warn({ dashboardDir: root ?? null }, 'the dashboard is not built; / says so');

  const sendIndex = async (reply: FastifyReply): Promise<FastifyReply> => {
    // The title is the operator's from the first byte; the app applies the rest of the branding.
    const html = await readFile(join(root ?? '', 'index.html'), 'utf8');
    const { name } = await branding.current();
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(html.replace(/<title>[^<]*<\/title>/, `<title>${escapeHtml(name)}</title>`));
  };

  app.get('/*', async (req: FastifyRequest, reply: FastifyReply) => {
    let path: string;
    try {
      path = decodeURIComponent(req.url.split('?')[0] ?? '/');
    } catch {
      path = '/';
    }
    // The API keeps its own JSON 404s.
    if (path === '/v1' || path.startsWith('/v1/')) {
      reply.callNotFound();
      return reply;
    }
    if (!built || root === undefined)
      return reply.code(503).type('text/html; charset=utf-8').send(notBuiltPage);
    const file = resolve(root, `.${path}`);
    const rel = relative(root, file);
    if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) && rel !== 'index.html' && isFile(file)) {
      // Vite names what it puts in assets/ by content hash: those never change.
      const immutable = rel.startsWith('assets/');
      return reply.sendFile(rel, {
        immutable,
        maxAge: immutable ? 365 * 24 * 3600 * 1000 : 0,
        cacheControl: true,
      });
    }
    return sendIndex(reply);
  });
}
