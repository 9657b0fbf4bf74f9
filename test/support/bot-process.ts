import { loadConfig } from '../../src/config/load.js';
import { type StartOptions, startFlightdeck } from '../../src/flightdeck.js';
import { createLogger } from '../../src/observability/logger.js';
import { formatProblem } from '../../src/shared/problems.js';

/**
 * A whole bot as its own process, for tests that kill it (SIGKILL cannot be played inside the test's
 * process). Configured like `npm start` through the environment, plus test-only start options as JSON in
 * FLIGHTDECK_TEST_OPTIONS (short heartbeats, so a killed process is taken over in a second, not 15).
 * Prints `listening <port>` once it serves Slack.
 */
const result = await loadConfig(process.env);
if (!result.ok) {
  for (const problem of result.problems) console.error(formatProblem(problem));
  process.exit(1);
}
const options = JSON.parse(process.env.FLIGHTDECK_TEST_OPTIONS ?? '{}') as StartOptions;
const bot = await startFlightdeck(result.config, {
  ...options,
  logger: createLogger({ level: result.config.env.LOG_LEVEL }),
  listen: { port: 0, host: '127.0.0.1' },
});
console.log(`listening ${bot.port}`);
process.on('SIGTERM', () => void bot.stop().then(() => process.exit(0)));
