import type { Command } from 'commander';
import { allPages } from '@shellwego/api-client';
import type { App, AppCreate } from '@shellwego/api-client';
import type { Io } from '../io.js';
import { out } from '../io.js';
import { printFields, printJson, printTable, when } from '../output.js';
import { parseInteger, parseKeyValues } from '../parse.js';
import { confirmDeletion } from '../prompt.js';
import { openClient } from '../session.js';
import { withSpinner } from '../spinner.js';

interface CreateFlags {
  image?: string;
  memory?: string;
  cpu?: string;
  domain?: string;
  port?: string;
  runtime?: string;
  replicas?: string;
  env?: string[];
  org?: string;
  healthPath?: string;
  healthInterval?: string;
  healthTimeout?: string;
  json?: boolean;
}

/** The request body from the flags; the server validates every value and names the field it rejects. */
function createBody(name: string, f: CreateFlags): AppCreate {
  const healthCheck = {
    ...(f.healthPath === undefined ? {} : { path: f.healthPath }),
    ...(f.healthInterval === undefined ? {} : { interval: f.healthInterval }),
    ...(f.healthTimeout === undefined ? {} : { timeout: f.healthTimeout }),
  };
  const resources = {
    ...(f.memory === undefined ? {} : { memory: f.memory }),
    ...(f.cpu === undefined ? {} : { cpu: f.cpu }),
  };
  return {
    name,
    ...(f.org === undefined ? {} : { org: f.org }),
    ...(f.image === undefined ? {} : { image: f.image }),
    // The server checks the value against its list; the CLI does not keep a copy to go stale.
    ...(f.runtime === undefined ? {} : { runtime: f.runtime as AppCreate['runtime'] }),
    ...(f.env === undefined ? {} : { env: Object.fromEntries(parseKeyValues(f.env, '--env value', 'env')) }),
    ...(Object.keys(resources).length === 0 ? {} : { resources }),
    ...(f.replicas === undefined ? {} : { replicas: parseInteger(f.replicas, '--replicas', 'replicas') }),
    ...(f.port === undefined ? {} : { port: parseInteger(f.port, '--port', 'port') }),
    ...(f.domain === undefined ? {} : { domain: f.domain }),
    ...(Object.keys(healthCheck).length === 0 ? {} : { health_check: healthCheck }),
  };
}

function printApp(io: Io, app: App): void {
  printFields(io, [
    ['name', app.name],
    ['id', app.id],
    ['status', app.status],
    ['url', app.url],
    ['image', app.image ?? '-'],
    ['runtime', app.runtime],
    ['replicas', String(app.replicas)],
    ['port', String(app.port)],
    ['memory', app.resources.memory],
    ['cpu', app.resources.cpu],
    ['domains', app.domains.join(', ') || '-'],
    [
      'health check',
      `${app.health_check.path} every ${app.health_check.interval}, timeout ${app.health_check.timeout}`,
    ],
    ['env', Object.keys(app.env).sort().join(', ') || '-'],
    ['instances', String(app.instances.length)],
    ['created', when(app.created_at)],
  ]);
}

export function registerApps(program: Command, io: Io): void {
  const apps = program.command('apps').description('Create, list, inspect and delete apps');

  apps
    .command('create <name>')
    .description('Create an app (with --image, this deploys it)')
    .option('--image <image>', 'OCI image, e.g. ghost:latest')
    .option('--memory <size>', 'memory limit: 256m, 1g, 512Mi or bytes (default 256m)')
    .option('--cpu <cpu>', 'CPU limit: 0.5, 1 or 500m')
    .option('--domain <hostname>', 'a custom domain, e.g. blog.example.com')
    .option('--port <port>', 'the port the app listens on (default 8080)')
    .option('--runtime <runtime>', 'container (default), microvm or wasm')
    .option('--replicas <n>', 'number of instances (default 1)')
    .option('--env <K=V...>', 'environment variables: --env A=1 B=2, or --env repeated')
    .option('--org <org>', 'owning organization (default: your first)')
    .option('--health-path <path>', 'the path the health check requests (default /)')
    .option('--health-interval <duration>', 'how often to check, e.g. 5s (default 10s)')
    .option('--health-timeout <duration>', 'how long a check may take, e.g. 2s (default 2s)')
    .option('--json', 'print the app as JSON')
    .action(async (name: string, flags: CreateFlags) => {
      const body = createBody(name, flags);
      const client = await openClient(io);
      const app = await withSpinner(io, `creating ${name}`, () => client.apps.create(body));
      if (flags.json) return printJson(io, app);
      out(io, `created app ${app.name} (${app.id}): ${app.url}`);
    });

  apps
    .command('ls')
    .alias('list')
    .description('List your apps')
    .option('--org <org>', 'only this organization')
    .option('--json', 'print a JSON array')
    .action(async (flags: { org?: string; json?: boolean }) => {
      const client = await openClient(io);
      const items = await withSpinner(io, 'listing apps', () =>
        allPages((cursor) => client.apps.list({ org: flags.org, cursor })),
      );
      if (flags.json) return printJson(io, items);
      printTable(
        io,
        ['name', 'status', 'image', 'runtime', 'replicas', 'memory', 'cpu', 'url'],
        items.map((a) => [
          a.name,
          a.status,
          a.image ?? '-',
          a.runtime,
          String(a.replicas),
          a.resources.memory,
          a.resources.cpu,
          a.url,
        ]),
      );
    });

  apps
    .command('info <app>')
    .description('Show an app (by name or id)')
    .option('--json', 'print JSON')
    .action(async (key: string, flags: { json?: boolean }) => {
      const app = await (await openClient(io)).apps.get(key);
      if (flags.json) return printJson(io, app);
      printApp(io, app);
    });

  apps
    .command('delete <app>')
    .alias('rm')
    .description('Delete an app with its secrets and domains')
    .option('-y, --yes', 'do not ask (required when stdin is not a terminal)')
    .action(async (key: string, flags: { yes?: boolean }) => {
      const client = await openClient(io);
      const go = await confirmDeletion(io, {
        yes: flags.yes,
        kind: 'app',
        key,
        question: async () => {
          const app = await client.apps.get(key);
          return `Delete app ${app.name} (${app.id}) with its secrets and domains?`;
        },
      });
      if (!go) return out(io, 'not deleted');
      await client.apps.delete(key);
      out(io, `deleted app ${key}`);
    });
}
