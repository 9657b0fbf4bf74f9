import type { App, RespondFn } from '@slack/bolt';
import { serializeError } from '../../observability/logger.js';
import type { SlackContext } from '../context.js';
import { abortByCommand } from './abort.js';
import { history } from './history.js';
import { parseDeployCommand, USAGE } from './parse.js';
import { pauseOrResume } from './pause-resume.js';
import { report } from './report.js';
import { rollback } from './rollback.js';
import { start } from './start.js';
import { status } from './status.js';
import { traffic } from './traffic.js';

/**
 * `/deploy`: one handler per subcommand in this folder (start.ts, status.ts, report.ts, history.ts,
 * traffic.ts, rollback.ts, pause-resume.ts, abort.ts); this file parses and dispatches. Mistakes are answered inside the acknowledgement (no I/O before
 * `ack()`); the slow part — Redis, Slack posts, role lookups — comes after it.
 */
export function registerDeployCommand(app: App, context: SlackContext): void {
  app.command('/deploy', async ({ command, ack, respond, client }) => {
    const request = parseDeployCommand(command.text);
    switch (request.type) {
      case 'help':
        await ack({ response_type: 'ephemeral', text: USAGE });
        return;
      case 'invalid':
        await ack({ response_type: 'ephemeral', text: `${request.message}\n\n${USAGE}` });
        return;
      case 'start': {
        const resolved = context.deployments.resolveStart(request);
        if (!resolved.ok) {
          await ack({ response_type: 'ephemeral', text: `${resolved.message}\n\n${USAGE}` });
          return;
        }
        await ack({ response_type: 'ephemeral', text: `Starting ${request.service} ${request.version}…` });
        await answering(context, respond, `start ${request.service} ${request.version}`, () =>
          start(context, client, respond, { ...request, actor: command.user_id }),
        );
        return;
      }
      case 'status':
        await ack();
        await answering(context, respond, 'status', async () => {
          await respond({ response_type: 'ephemeral', text: await status(context, client, request.service) });
        });
        return;
      case 'report':
        await ack();
        await answering(context, respond, `report${request.target ? ` ${request.target}` : ''}`, async () => {
          await respond({
            response_type: 'ephemeral',
            ...(await report(context, request.target, command.channel_id)),
          });
        });
        return;
      case 'history':
        await ack();
        await answering(context, respond, `history ${request.service}`, async () => {
          await respond({
            response_type: 'ephemeral',
            text: await history(context, client, request.service),
          });
        });
        return;
      case 'traffic':
      case 'rollback':
      case 'pause':
      case 'resume': {
        await ack();
        const who = { user: command.user_id, channel: command.channel_id, triggerId: command.trigger_id };
        await answering(context, respond, `${request.type} ${request.service}`, () =>
          request.type === 'traffic'
            ? traffic(context, client, respond, request, who)
            : request.type === 'rollback'
              ? rollback(context, client, respond, request, who)
              : pauseOrResume(context, respond, request, who),
        );
        return;
      }
      case 'abort':
        await ack();
        await answering(context, respond, `abort ${request.service}`, () =>
          abortByCommand(context, respond, command.user_id, request.service, request.reason),
        );
        return;
    }
  });
}

/** Runs the slow part of a command; if it fails (Redis down, Slack error), the person is told, not left waiting. */
async function _answering(
  context: SlackContext,
  respond: RespondFn,
  what: string,
  work: () => Promise<void>,
): Promise<void> {
  try {
    await work();
  } catch (error) {
    context.logger.error({ command: what, err: serializeError(error) }, '/deploy failed');
    await respond({
      response_type: 'ephemeral',
      text: `Flightdeck could not finish \`${what}\` (${(error as Error).message}). Check /deploy status before trying again.`,
    }).catch(() => undefined);
  }
}

/** Runs the slow part of a command; if it fails (Redis down, Slack error), the person is told, not left waiting. */
async function answering(
  context: SlackContext,
  respond: RespondFn,
  what: string,
  work: () => Promise<void>,
): Promise<void> {
  try {
    await work();
  } catch (error) {
    context.logger.error({ command: what, err: serializeError(error) }, '/deploy failed');
    await respond({
      response_type: 'ephemeral',
      text: `Flightdeck could not finish \`${what}\` (${(error as Error).message}). Check /deploy status before trying again.`,
    }).catch(() => undefined);
  }
}
