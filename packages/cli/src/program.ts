import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerAgent } from './commands/agent.js';
import { registerApps } from './commands/apps.js';
import { registerAudit } from './commands/audit.js';
import { registerDeploy } from './commands/deploy.js';
import { registerDomains } from './commands/domains.js';
import { registerVolumes } from './commands/volumes.js';
import { registerEdge } from './commands/edge.js';
import { registerAuth } from './commands/auth.js';
import { registerImages } from './commands/images.js';
import { registerKernel } from './commands/kernel.js';
import { registerLogs } from './commands/logs.js';
import { registerNodes } from './commands/nodes.js';
import { registerOrgs } from './commands/orgs.js';
import { registerSecrets } from './commands/secrets.js';
import { registerServe } from './commands/up.js';
import { registerTokens } from './commands/tokens.js';
import { EXIT_USAGE, describeError } from './errors.js';
import type { Io } from './io.js';

// One level above both src/ and dist/.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export function buildProgram(io: Io): Command {
  const program = new Command('shellwego')
    .description('ShellWeGo: a self-hosted platform for apps in microVMs, containers and WebAssembly.')
    .version(version)
    // Errors become exit codes in run(), not process.exit() deep inside commander.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      // commander's errors come with a suggestion on a second line; an error stays one line.
      writeErr: (s) =>
        void io.stderr.write(s.startsWith('error:') ? `${s.trim().replace(/\s*\n\s*/g, ' ')}\n` : s),
    })
    .addHelpText(
      'after',
      `
Client commands talk to the server you logged in to; SHELLWEGO_URL and SHELLWEGO_TOKEN override it.
Listings take --json. Errors print one line on stderr and exit 1; usage errors exit 2.`,
    );
  registerServe(program, io);
  registerAuth(program, io);
  registerApps(program, io);
  registerDeploy(program, io);
  registerLogs(program, io);
  registerSecrets(program, io);
  registerDomains(program, io);
  registerVolumes(program, io);
  registerOrgs(program, io);
  registerNodes(program, io);
  registerTokens(program, io);
  registerAudit(program, io);
  registerImages(program, io);
  registerKernel(program, io);
  registerAgent(program, io);
  registerEdge(program, io);
  return program;
}

/** Runs one command line and returns the exit code; every failure becomes one line on stderr. */
export async function run(args: readonly string[], io: Io): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...args], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has already printed its message (or the help or version asked for).
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
      return EXIT_USAGE;
    }
    const { line, exitCode } = describeError(e, Boolean(io.env.SHELLWEGO_DEBUG));
    io.stderr.write(`${line}\n`);
    return exitCode;
  }
}
