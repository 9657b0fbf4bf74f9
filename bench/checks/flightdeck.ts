/**
 * bench:checks's Flightdeck process: the production wiring with its default worker set-up (the bot
 * process also runs the check worker, CHECK_CONCURRENCY at its default), started by ../support/bot.ts.
 * On the orchestrator's word it issues commands through the process's own DeploymentService, exactly what
 * the Slack handlers call once they have acknowledged a click ("✓ Done" on an item, "Re-run" on a check):
 * so the checks they set off are enqueued, run and recorded by the code production runs, in the process
 * production runs it in. The Slack front end itself is bench:ack's subject, not this one's.
 */
import { performance } from 'node:perf_hooks';
import type { ExecuteResult } from '../../src/deployments/service.js';
import { bot } from '../support/bot.js';
import type { DriveCommand, DriveReply } from './protocol.js';

async function openPhases(command: Extract<DriveCommand, { action: 'open-phases' }>): Promise<DriveReply> {
  const roles = await bot.context.roles.rolesOf(command.actor);
  const startedAt = Date.now();
  const results = await Promise.all(
    command.deploymentIds.map((id) =>
      bot.deployments.execute(id, {
        type: 'resolve-item',
        itemId: command.itemId,
        resolution: 'done',
        actor: command.actor,
        actorRoles: roles,
        at: Date.now(),
      }),
    ),
  );
  return {
    type: 'drive',
    sent: results.length,
    ...refusals(results),
    startedAt,
    durationMs: Date.now() - startedAt,
    maxLagMs: 0,
  };
}

/** Open loop: command i is due i/rate s after the start, however long earlier ones take. */
async function rerun(command: Extract<DriveCommand, { action: 'rerun' }>): Promise<DriveReply> {
  const roles = await bot.context.roles.rolesOf(command.actor);
  const intervalMs = 1_000 / command.ratePerSecond;
  const pending: Array<Promise<ExecuteResult>> = [];
  let maxLagMs = 0;
  const startedAt = Date.now();
  const start = performance.now();
  await new Promise<void>((done) => {
    const tick = () => {
      const elapsed = performance.now() - start;
      while (pending.length < command.targets.length && pending.length * intervalMs <= elapsed) {
        const target = command.targets[pending.length] as (typeof command.targets)[number];
        maxLagMs = Math.max(maxLagMs, elapsed - pending.length * intervalMs);
        pending.push(
          bot.deployments.execute(target.deploymentId, {
            type: 'rerun-check',
            itemId: target.itemId,
            actor: command.actor,
            actorRoles: roles,
            at: Date.now(),
          }),
        );
      }
      if (pending.length >= command.targets.length) done();
      else setTimeout(tick, Math.max(0, pending.length * intervalMs - (performance.now() - start)));
    };
    tick();
  });
  const results = await Promise.all(pending);
  return {
    type: 'drive',
    sent: results.length,
    ...refusals(results),
    startedAt,
    durationMs: Date.now() - startedAt,
    maxLagMs,
  };
}

function refusals(results: ExecuteResult[]): Pick<DriveReply, 'refused' | 'refusals'> {
  const refused = results.filter((result) => !result.ok);
  return {
    refused: refused.length,
    refusals: refused.slice(0, 3).map((result) => (result.ok ? '' : `${result.code}: ${result.message}`)),
  };
}

process.on('message', (command: DriveCommand) => {
  if (command?.type !== 'drive') return;
  (command.action === 'open-phases' ? openPhases(command) : rerun(command)).then(
    (reply) => process.send?.(reply),
    (error: Error) =>
      process.send?.({
        type: 'drive',
        sent: 0,
        refused: 1,
        refusals: [`the driver failed: ${error.message}`],
        startedAt: Date.now(),
        durationMs: 0,
        maxLagMs: 0,
      } satisfies DriveReply),
  );
});
