/**
 * The bot under test, in its own process: the production wiring (`loadConfig` + `startFlightdeck`) with
 * production presenter settings, configured entirely through the environment the orchestrator sets
 * (FLIGHTDECK_CONFIG, SLACK_API_URL at the fake Slack, REDIS_URL at the private Redis, KUBECONFIG, LOG_LEVEL,
 * RUN_WORKERS as `npm start` reads it). Listens on a free port and reports it over IPC. Exports the running
 * Flightdeck for benchmark children that drive it from inside (bench/checks/flightdeck.ts).
 */
import { loadConfig } from '../../src/config/load.js';
import { startFlightdeck } from '../../src/flightdeck.js';
import { formatProblem } from '../../src/shared/problems.js';
import { installProbe } from './probe.js';
import type { ReadyMessage } from './protocol.js';

const loaded = await loadConfig(process.env);
if (!loaded.ok) {
  for (const problem of loaded.problems) console.error(formatProblem(problem));
  if (loaded.missingCredentials.length > 0) console.error(`missing: ${loaded.missingCredentials.join(', ')}`);
  process.exit(1);
}
export const bot = await startFlightdeck(loaded.config, {
  listen: { port: 0, host: '127.0.0.1' },
  role: loaded.config.env.RUN_WORKERS ? 'all' : 'bot',
});

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(1), 5_000).unref();
  await bot.stop().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
// The orchestrator is gone (crashed or killed): do not linger.
process.on('disconnect', () => void stop());
installProbe();
process.send?.({ type: 'ready', port: bot.port ?? 0 } satisfies ReadyMessage);
