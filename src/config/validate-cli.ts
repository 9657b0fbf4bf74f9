/**
 * `npm run config:validate`
 *
 * Checks environment, flightdeck.yaml and every checklist exactly as start-up does, without connecting
 * to Slack or Redis. Prints every problem as `file:line: path: reason` and exits 1 if there is any.
 */
import { formatProblem } from '../shared/problems.js';
import { loadConfig } from './load.js';

const result = await loadConfig();
if (result.ok) {
  const { file, checklists, slackMode, path } = result.config;
  console.log(
    `${path}: OK — ${Object.keys(file.services).length} service(s), ${Object.keys(file.roles).length} role(s), ${checklists.size} checklist(s); Slack via ${slackMode === 'socket' ? 'Socket Mode' : 'HTTP'}`,
  );
} else {
  for (const problem of result.problems) console.error(formatProblem(problem));
  if (result.missingCredentials.length > 0) {
    console.error(`note: not set (needed to run the bot): ${result.missingCredentials.join(', ')}`);
  }
  if (result.problems.length === 0) console.log('configuration files OK');
  process.exitCode = result.problems.length > 0 ? 1 : 0;
}
