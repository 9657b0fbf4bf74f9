import { fileURLToPath } from 'node:url';
import { formatProblem } from '../shared/problems.js';
import { SandboxConfigError, startSandbox } from './sandbox.js';

/**
 * `npm run sandbox`, and `npm start` without Slack credentials: starts the sandbox, prints the page's URL,
 * and stops everything it started on SIGINT/SIGTERM.
 */
export async function runSandbox(options: { hint?: string } = {}): Promise<void> {
  const startedAt = Date.now();
  if (options.hint) console.log(options.hint);
  console.log(
    'Starting the Flightdeck sandbox: the real bot, with a Slack emulator and a simulated cluster…',
  );
  let sandbox: Awaited<ReturnType<typeof startSandbox>>;
  try {
    sandbox = await startSandbox({ progress: (step) => console.log(`  ${step}…`) });
  } catch (error) {
    if (error instanceof SandboxConfigError) {
      console.error(`Flightdeck cannot start: ${error.problems.length} configuration problem(s):`);
      for (const problem of error.problems) console.error(formatProblem(problem).replace(/^/gm, '  '));
    } else console.error(`Flightdeck's sandbox cannot start: ${(error as Error).message}`);
    process.exit(1);
  }
  for (const note of sandbox.notes) console.log(`  note: ${note}`);
  const seconds = ((Date.now() - startedAt) / 1_000).toFixed(1);
  console.log(
    [
      '',
      `Flightdeck sandbox ready in ${seconds}s: ${sandbox.url}`,
      '',
      `  Open ${sandbox.url} and type /deploy start demo 1.2.3 in #demo.`,
      '  Switch people at the top left; play an incident from the sidebar. Ctrl-C stops it all.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the sandbox…`);
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    await sandbox.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

// `tsx src/sandbox/run.ts` (npm run sandbox) runs it; main.ts imports it.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) void runSandbox();
