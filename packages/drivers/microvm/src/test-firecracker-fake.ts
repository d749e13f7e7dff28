import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

/**
 * A fake Firecracker API built from the real OpenAPI document: each PUT/PATCH body is validated against the
 * request schema of its path and method (ajv), and answered 400 with the errors or 204. Definitions get
 * `additionalProperties: false` where they list properties, because Firecracker rejects unknown fields
 * (serde deny_unknown_fields) though the Swagger file does not say so. It also checks that a path id
 * (/drives/{drive_id}) equals the id in the body, as Firecracker does.
 */
export const FIRECRACKER_SPEC = '/work/shared/reference/firecracker-api.yaml';

type Schema = Record<string, unknown>;
interface Operation {
  parameters?: { in: string; name: string; required?: boolean; schema?: Schema }[];
}
interface SwaggerDoc {
  paths: Record<string, Record<string, Operation>>;
  definitions: Record<string, Schema>;
}

export interface FakeRequest {
  method: string;
  path: string;
  body: unknown;
  status: number;
  errors: string[];
}

interface Route {
  method: string;
  template: string;
  regex: RegExp;
  params: string[];
  validate: ValidateFunction | null;
  bodyRequired: boolean;
}

/** Swagger 2.0 refs point at #/definitions/X; ajv resolves them in the definitions schema registered as "fc". */
function rewriteRefs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(rewriteRefs);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === '$ref' && typeof x === 'string') out[k] = x.replace('#/definitions/', 'fc#/definitions/');
    // The document puts a regex in `format` (MmdsConfig.ipv4_address); JSON Schema calls that a pattern.
    else if (k === 'format' && typeof x === 'string' && x.includes('(')) out.pattern = `^${x}$`;
    else out[k] = rewriteRefs(x);
  }
  return out;
}

function closeObjects(defs: Record<string, Schema>): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (const [name, d] of Object.entries(defs)) {
    out[name] =
      'properties' in d && !('additionalProperties' in d) ? { ...d, additionalProperties: false } : d;
  }
  return out;
}

export function compileRoutes(specPath = FIRECRACKER_SPEC): Route[] {
  const doc = parse(readFileSync(specPath, 'utf8')) as SwaggerDoc;
  const ajv = new Ajv({ strict: false, allErrors: true });
  // Swagger's integer formats: the range is the type's business (and Firecracker's), not a string format.
  for (const f of ['int32', 'int64']) ajv.addFormat(f, true);
  ajv.addSchema({ $id: 'fc', definitions: rewriteRefs(closeObjects(doc.definitions)) as Schema });
  const routes: Route[] = [];
  for (const [template, ops] of Object.entries(doc.paths)) {
    const params: string[] = [];
    const regex = new RegExp(
      `^${template.replace(/\{(\w+)\}/g, (_m, p: string) => {
        params.push(p);
        return '([^/]+)';
      })}$`,
    );
    for (const [method, op] of Object.entries(ops)) {
      const body = op.parameters?.find((p) => p.in === 'body');
      routes.push({
        method: method.toUpperCase(),
        template,
        regex,
        params,
        validate: body?.schema ? ajv.compile(rewriteRefs(body.schema) as Schema) : null,
        bodyRequired: body?.required === true,
      });
    }
  }
  return routes;
}

export interface FakeFirecracker {
  requests: FakeRequest[];
  close(): Promise<void>;
}

/** Serves the fake API on `socketPath`. `onAction` sees each accepted PUT /actions (e.g. to exit on SendCtrlAltDel). */
export async function startFakeFirecracker(
  socketPath: string,
  onAction?: (action: string) => void,
): Promise<FakeFirecracker> {
  const routes = compileRoutes();
  const requests: FakeRequest[] = [];
  const state = { vm: 'Not started' };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const method = req.method ?? 'GET';
      const answer = (status: number, errors: string[], body?: unknown): void => {
        requests.push({ method, path, body: parsed, status, errors });
        const text = body === undefined ? '' : JSON.stringify(body);
        res.writeHead(status, text === '' ? {} : { 'content-type': 'application/json' });
        res.end(text);
      };
      const raw = Buffer.concat(chunks).toString('utf8');
      let parsed: unknown = undefined;
      if (raw !== '') {
        try {
          parsed = JSON.parse(raw);
        } catch {
          return answer(400, ['body is not JSON'], { fault_message: 'body is not JSON' });
        }
      }
      const route = routes.find((r) => r.method === method && r.regex.test(path));
      if (route === undefined)
        return answer(400, ['no such path/method'], { fault_message: `no ${method} ${path}` });
      if (method === 'GET') {
        const info = { id: 'fake', state: state.vm, vmm_version: '1.16.1', app_name: 'Firecracker' };
        return answer(200, [], path === '/' ? info : {});
      }
      if (route.validate !== null) {
        if (parsed === undefined && route.bodyRequired)
          return answer(400, ['empty body'], { fault_message: 'Empty PUT request.' });
        if (parsed !== undefined && !route.validate(parsed)) {
          const errors = (route.validate.errors ?? []).map((e) =>
            `${e.instancePath || '/'} ${e.message ?? ''}`.trim(),
          );
          return answer(400, errors, { fault_message: errors.join('; ') });
        }
      }
      const ids = route.regex.exec(path)?.slice(1) ?? [];
      for (const [i, name] of route.params.entries()) {
        const inBody = (parsed as Record<string, unknown> | undefined)?.[name];
        if (!/^[A-Za-z0-9_]+$/.test(ids[i] ?? '') || (inBody !== undefined && inBody !== ids[i])) {
          return answer(400, [`${name} mismatch`], { fault_message: `${name} in path and body differ` });
        }
      }
      if (path === '/actions') {
        const action = (parsed as { action_type: string }).action_type;
        if (action === 'InstanceStart') state.vm = 'Running';
        onAction?.(action);
      }
      if (path === '/vm') state.vm = (parsed as { state: string }).state === 'Paused' ? 'Paused' : 'Running';
      if (path === '/snapshot/load') state.vm = 'Running';
      answer(204, []);
    });
  });
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
