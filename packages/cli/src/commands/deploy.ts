import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ARTIFACT_MAX_BYTES } from '@shellwego/core';
import type { DeploymentCreate } from '@shellwego/api-client';
import { CliError, usageError } from '../errors.js';
import { followDeployment } from '../follow-deployment.js';
import type { Io } from '../io.js';
import { note, out } from '../io.js';
import { printJson, printTable, when } from '../output.js';
import { parseInteger, parseKeyValues } from '../parse.js';
import { openClient } from '../session.js';

interface DeployFlags {
  image?: string;
  runtime?: string;
  memory?: string;
  cpu?: string;
  env?: string[];
  strategy?: string;
  timeout?: string;
  cancel?: boolean;
  wait?: boolean;
  json?: boolean;
}

function deployBody(f: DeployFlags): DeploymentCreate {
  const resources = {
    ...(f.memory === undefined ? {} : { memory: f.memory }),
    ...(f.cpu === undefined ? {} : { cpu: f.cpu }),
  };
  return {
    ...(f.image === undefined ? {} : { image: f.image }),
    // The server checks the value; the CLI keeps no list to go stale.
    ...(f.runtime === undefined ? {} : { runtime: f.runtime as DeploymentCreate['runtime'] }),
    ...(f.env === undefined ? {} : { env: Object.fromEntries(parseKeyValues(f.env, '--env value', 'env')) }),
    ...(Object.keys(resources).length === 0 ? {} : { resources }),
    // The server checks the value; the CLI keeps no list to go stale.
    ...(f.strategy === undefined ? {} : { strategy: f.strategy as DeploymentCreate['strategy'] }),
    ...(f.timeout === undefined ? {} : { timeout: f.timeout }),
  };
}

export function registerDeploy(program: Command, io: Io): void {
  program
    .command('deploy <app> [module]')
    .description(
      'Deploy an app and follow the rollout; exits 0 with the URL once the new release serves. With a .wasm MODULE, uploads it and deploys it on the wasm runtime',
    )
    .option('--image <image>', 'deploy this image (default: the app’s current one)')
    .option('--runtime <runtime>', 'container, microvm or wasm (default: the app’s; wasm with a MODULE)')
    .option('--memory <size>', 'new memory limit, e.g. 512m')
    .option('--cpu <cpu>', 'new CPU limit, e.g. 0.5')
    .option('--env <K=V...>', 'replace the environment: --env A=1 B=2')
    .option('--strategy <s>', 'rolling or bluegreen (default: bluegreen for one replica, rolling for more)')
    .option('--timeout <duration>', 'give up (and roll back) after this long, e.g. 5m (default 10m)')
    .option('--cancel', 'cancel the app’s running deployment instead')
    .option('--no-wait', 'start the deployment and return at once')
    .option('--json', 'print the finished deployment as JSON')
    .action(async (app: string, module: string | undefined, flags: DeployFlags) => {
      const client = await openClient(io);
      if (flags.cancel) {
        const running = (await client.apps.deployments(app)).items.find((d) => d.finished_at === null);
        if (!running) throw new CliError('NOTHING_TO_CANCEL', `app ${app} has no deployment running`);
        const cancelled = await client.deployments.cancel(running.id);
        if (flags.json) return printJson(io, cancelled);
        out(io, `cancelled deployment ${cancelled.id} of release ${cancelled.release}`);
        return;
      }
      if (module !== undefined) {
        if (flags.image !== undefined) throw usageError('give either a MODULE file or --image, not both');
        if (flags.runtime !== undefined && flags.runtime !== 'wasm')
          throw usageError(`a MODULE file runs on the wasm runtime, not ${flags.runtime}`);
        const content = await readModule(module);
        note(io, `uploading ${module} (${formatKiB(content.length)})`);
        const artifact = await client.apps.uploadArtifact(app, content);
        flags = { ...flags, image: artifact.digest, runtime: 'wasm' };
      }
      const started = await client.apps.deploy(app, deployBody(flags));
      note(io, `deploying ${app}: release ${started.release} (deployment ${started.id})`);
      if (flags.wait === false) {
        if (flags.json) return printJson(io, started);
        out(io, started.id);
        return;
      }
      const done = await followDeployment(io, client, started);
      if (flags.json) return printJson(io, done);
      out(io, `deployed ${app} release ${done.release}: ${(await client.apps.get(app)).url}`);
    });

  program
    .command('rollback <app>')
    .description('Deploy an earlier release again (default: the one before the current) and follow it')
    .option('--release <n>', 'the release version to return to')
    .option('--json', 'print the finished deployment as JSON')
    .action(async (app: string, flags: { release?: string; json?: boolean }) => {
      const client = await openClient(io);
      const version =
        flags.release === undefined ? undefined : parseInteger(flags.release, '--release', 'release');
      const started = await client.apps.rollback(app, version);
      note(io, `rolling ${app} back: release ${started.release} (deployment ${started.id})`);
      const done = await followDeployment(io, client, started);
      if (flags.json) return printJson(io, done);
      out(io, `rolled ${app} back: release ${done.release} serves at ${(await client.apps.get(app)).url}`);
    });

  program
    .command('releases <app>')
    .description('List an app’s releases, newest first')
    .option('--json', 'print a JSON array')
    .action(async (app: string, flags: { json?: boolean }) => {
      const { items } = await (await openClient(io)).apps.releases(app);
      if (flags.json) return printJson(io, items);
      printTable(
        io,
        ['version', 'current', 'image', 'memory', 'cpu', 'replicas', 'created'],
        items.map((r) => [
          `v${r.version}`,
          r.current ? '*' : '',
          r.image,
          `${Math.round(r.resources.memory_bytes / 1024 ** 2)}Mi`,
          `${r.resources.cpu_milli}m`,
          String(r.replicas),
          when(r.created_at),
        ]),
      );
    });

  program
    .command('scale <app> <replicas>')
    .description('Run this many instances of the app’s current release')
    .option('--json', 'print the app as JSON')
    .action(async (app: string, replicas: string, flags: { json?: boolean }) => {
      const n = parseInteger(replicas, 'replicas', 'replicas');
      const updated = await (await openClient(io)).apps.update(app, { replicas: n });
      if (flags.json) return printJson(io, updated);
      out(io, `scaling ${updated.name} to ${n} instance${n === 1 ? '' : 's'}`);
    });

  program
    .command('status [app]')
    .description('Apps with their status, or one app’s instances')
    .option('--json', 'print JSON')
    .action(async (app: string | undefined, flags: { json?: boolean }) => {
      const client = await openClient(io);
      if (app === undefined) {
        const { items } = await client.apps.list();
        if (flags.json) return printJson(io, items);
        printTable(
          io,
          ['app', 'status', 'release', 'instances', 'url'],
          items.map((a) => [
            a.name,
            a.status,
            a.release ? `v${a.release.version}` : '-',
            `${a.instances.filter((i) => i.health === 'healthy').length}/${a.replicas} healthy`,
            a.url,
          ]),
        );
        return;
      }
      const one = await client.apps.get(app);
      if (flags.json) return printJson(io, one);
      out(
        io,
        `${one.name}: ${one.status}, release ${one.release ? `v${one.release.version}` : '-'}, ${one.url}`,
      );
      printTable(
        io,
        ['instance', 'release', 'node', 'state', 'health', 'routed', 'address'],
        one.instances.map((i) => [
          i.id,
          `v${i.release}`,
          i.node_id,
          i.state,
          i.health,
          i.routed ? 'yes' : 'no',
          i.address ?? '-',
        ]),
      );
    });
}

const formatKiB = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

/** The module's bytes, or a one-line error naming what is wrong with the file. */
async function readModule(file: string): Promise<Uint8Array> {
  let content: Buffer;
  try {
    content = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(
      'INVALID_MODULE',
      `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : String(code ?? e)}`,
    );
  }
  if (content.subarray(0, 4).toString('latin1') !== '\0asm')
    throw new CliError(
      'INVALID_MODULE',
      `${file} is not a WebAssembly module (it does not start with \\0asm)`,
    );
  if (content.length > ARTIFACT_MAX_BYTES)
    throw new CliError(
      'INVALID_MODULE',
      `${file} is ${formatKiB(content.length)}; modules may be at most ${formatKiB(ARTIFACT_MAX_BYTES)}`,
    );
  return content;
}
