import type { RespondFn, webApi } from '@slack/bolt';
import { askRollback } from '../actions/operation-actions.js';
import type { SlackContext } from '../context.js';
import { type CommandOrigin, commandClick, operatedDeployment } from './operations.js';
import type { DeployRequest } from './parse.js';

/** `/deploy rollback <service> [reason]`: a modal asks for (or confirms) the reason: a rollback is never
 * one typo away. */
export async function rollback(
  context: SlackContext,
  client: webApi.WebClient,
  respond: RespondFn,
  request: Extract<DeployRequest, { type: 'rollback' }>,
  who: CommandOrigin,
): Promise<void> {
  const id = await operatedDeployment(context, respond, request);
  if (!id) return;
  await askRollback(context, client, commandClick(who, id, request.type), request.reason);
}
