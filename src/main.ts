import { fileURLToPath } from 'node:url';
import { loadConfig } from './config/load.js';
import { startFlightdeck } from './flightdeck.js';
import { createLogger, serializeError } from './observability/logger.js';
import { formatProblem } from './shared/problems.js';

/**
 * Entry point: configuration -> wiring -> start. Every configuration problem is printed at once and the
 * process exits non-zero; SIGTERM/SIGINT stop it gracefully. Without Slack credentials (and a clean
 * configuration) it runs the local sandbox instead, except in production, where that is an error, and in
 * a build, which leaves the sandbox out.
 */
async function main(): Promise<void> {
  const result = await loadConfig();
  if (!result.ok) {
    const wantsSandbox = result.problems.length === 0 && sandboxAllowed(process.env);
    const sandbox = wantsSandbox ? await loadSandbox() : undefined;
    if (sandbox) {
      await sandbox.runSandbox({ hint: sandboxHint(result.missingCredentials) });
      return;
    }
    if (result.problems.length > 0) {
      console.error(`Flightdeck cannot start: ${result.problems.length} configuration problem(s):`);
      for (const problem of result.problems) console.error(formatProblem(problem).replace(/^/gm, '  '));
    }
    if (result.missingCredentials.length > 0)
      console.error(missingCredentialsMessage(result.missingCredentials));
    if (wantsSandbox) console.error(NO_SANDBOX_IN_BUILD);
    process.exit(1);
  }
  const { config } = result;
  const logger = createLogger({ level: config.env.LOG_LEVEL });
  const flightdeck = await startFlightdeck(config, {
    logger,
    role: config.env.RUN_WORKERS ? 'all' : 'bot',
  }).catch((error: Error) => {
    // For the platform's log (with the error's code, e.g. redis_unreachable), and for the person.
    logger.fatal({ err: error }, 'cannot start');
    console.error(`Flightdeck cannot start: ${error.message}`);
    process.exit(1);
  });
  logger.info(
    {
      mode: config.slackMode,
      port: flightdeck.port,
      services: Object.keys(config.file.services).length,
      checklists: config.checklists.size,
    },
    config.slackMode === 'http'
      ? `Flightdeck listening on :${flightdeck.port} (POST /slack/events)`
      : 'Flightdeck connected over Socket Mode',
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // A stop that hangs still ends on its own, before docker-compose's stop_grace_period (20 s) sends SIGKILL.
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    try {
      await flightdeck.stop();
    } catch (error) {
      logger.error({ err: serializeError(error) }, 'shutdown failed');
      process.exit(1);
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** What main needs from src/sandbox/run.ts (test/integration/production-build.test.ts checks that it fits). */
export interface SandboxEntry {
  runSandbox(options: { hint?: string }): Promise<void>;
}

/**
 * The sandbox's entry, in a variable rather than a literal so that tsc does not follow the import: the
 * production build (tsconfig.build.json) leaves src/sandbox out, and dist/ has no sandbox/.
 */
const SANDBOX_ENTRY = './sandbox/run.js';

/** The sandbox, or undefined when this is a build without it (the production build). */
async function loadSandbox(): Promise<SandboxEntry | undefined> {
  try {
    return (await import(SANDBOX_ENTRY)) as SandboxEntry;
  } catch (error) {
    // Only the entry itself missing means "built without the sandbox"; anything else is a real failure.
    const entry = fileURLToPath(new URL(SANDBOX_ENTRY, import.meta.url));
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'ERR_MODULE_NOT_FOUND' && message.includes(entry)) return undefined;
    throw error;
  }
}

const NO_SANDBOX_IN_BUILD = [
  'The local sandbox (Flightdeck with a Slack emulator, no workspace needed) is not part of this build.',
  'To try it, run Flightdeck from a source checkout: `npm start` without Slack credentials, or `npm run sandbox`.',
].join('\n');

/** The sandbox is for trying Flightdeck out: a production process missing a secret must fail loudly. */
function sandboxAllowed(env: NodeJS.ProcessEnv): boolean {
  return env.NODE_ENV !== 'production' && env.FLIGHTDECK_SANDBOX !== 'off';
}

function sandboxHint(missing: string[]): string {
  return `Slack credentials not set (${missing.join(', ')}), so this is the local sandbox. To connect a workspace, see "Connect it to Slack" in README.md (FLIGHTDECK_SANDBOX=off makes missing credentials an error).`;
}

function missingCredentialsMessage(missing: string[]): string {
  return [
    `Flightdeck needs Slack credentials; not set: ${missing.join(', ')}.`,
    "  1. Create the Slack app from this repository's manifest.json:",
    '     https://api.slack.com/apps → Create New App → From an app manifest → paste manifest.json.',
    '  2. Install it to your workspace, then set:',
    '     SLACK_BOT_TOKEN       OAuth & Permissions → Bot User OAuth Token (xoxb-…)',
    '     SLACK_SIGNING_SECRET  Basic Information → Signing Secret (HTTP mode), or',
    '     SLACK_APP_TOKEN       Basic Information → App-Level Tokens, scope connections:write (Socket Mode)',
    '  3. Start Flightdeck again.',
  ].join('\n');
}

void main();
