import type { ApiClient, App, Deployment } from '@shellwego/api-client';
import { CliError } from './errors.js';
import type { Io } from './io.js';
import { note } from './io.js';

const finished = new Set(['succeeded', 'failed', 'rolled_back', 'cancelled']);

/** What the instances of the deploying release are doing, e.g. `1/2 running, 1 healthy`. */
function instanceLine(app: App, release: number): string {
  const mine = app.instances.filter((i) => i.release === release);
  if (mine.length === 0) return 'no instances yet';
  const running = mine.filter((i) => i.state === 'running').length;
  const healthy = mine.filter((i) => i.health === 'healthy').length;
  const pulling = mine.find((i) => /^pulling/.test(i.message ?? ''));
  return `${running}/${mine.length} running, ${healthy} healthy${pulling ? `, ${pulling.message}` : ''}`;
}

/**
 * Shows a deployment's progress on stderr until it ends: each new step as a line, and the instances of the new
 * release whenever they change. Polls the API (a few requests a second) rather than the events WebSocket, so it
 * works through any proxy that passes plain HTTP. Resolves with the finished deployment; throws when it did not
 * succeed, with the reason the control plane gave.
 */
export async function followDeployment(
  io: Io,
  client: ApiClient,
  first: Deployment,
  opts: { intervalMs?: number } = {},
): Promise<Deployment> {
  let dep = first;
  let shownSteps = 0;
  let lastInstances = '';
  for (;;) {
    for (const step of dep.steps.slice(shownSteps)) note(io, `  ${step.status.padEnd(15)} ${step.message}`);
    shownSteps = dep.steps.length;
    const line = instanceLine(await client.apps.get(dep.app_id), dep.release);
    if (line !== lastInstances) note(io, `  ${'instances'.padEnd(15)} ${line}`);
    lastInstances = line;
    if (finished.has(dep.status)) break;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 300));
    dep = await client.deployments.get(dep.id);
  }
  if (dep.status === 'succeeded') return dep;
  const what = dep.status === 'rolled_back' ? 'failed and was rolled back' : dep.status;
  throw new CliError(
    'DEPLOY_FAILED',
    `deployment of release ${dep.release} ${what}: ${dep.reason ?? 'no reason given'}`,
  );
}
