import { loadConfig } from './config/load.js';
import { startFlightdeck } from './flightdeck.js';
import { createLogger } from './observability/logger.js';
import { formatProblem } from './shared/problems.js';

/**
 * `npm run worker`: a process that only runs checks from the `checks` queue (and updates the threads
 * with their results). Run as many as you like beside the bot; each check runs once per request.
 * SIGTERM stops taking jobs, lets running checks finish, and exits.
 */
async function main(): Promise<void> {
  const result = await loadConfig(process.env, 'worker');
  if (!result.ok) {
    for (const problem of result.problems) console.error(formatProblem(problem).replace(/^/gm, '  '));
    if (result.missingCredentials.length > 0) {
      console.error(
        `Flightdeck worker needs ${result.missingCredentials.join(', ')} (it posts check results to Slack).`,
      );
    }
    process.exit(1);
  }
  const { config } = result;
  const logger = createLogger({ level: config.env.LOG_LEVEL }).child({ process: 'worker' });
  const flightdeck = await startFlightdeck(config, { logger, role: 'worker' }).catch((error: Error) => {
    logger.fatal({ err: error }, 'cannot start');
    console.error(`Flightdeck worker cannot start: ${error.message}`);
    process.exit(1);
  });
  logger.info({ concurrency: config.env.CHECK_CONCURRENCY }, 'check worker running');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker shutting down: finishing running checks');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    await flightdeck.stop();
    logger.info('worker stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

void main();
