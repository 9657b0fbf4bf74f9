import type { RespondFn } from '@slack/bolt';
import type { SlackContext } from '../context.js';
import { type CommandOrigin, operatedDeployment } from './operations.js';
import type { DeployRequest } from './parse.js';

/** `/deploy pause|resume <service>`: on the service's active deployment. */
export async function pauseOrResume(
  context: SlackContext,
  respond: RespondFn,
  request: Extract<DeployRequest, { type: 'pause' | 'resume' }>,
  who: CommandOrigin,
): Promise<void> {
  const id = await operatedDeployment(context, respond, request);
  if (!id) return;
  const roles = await context.roles.rolesOf(who.user);
  const result = await context.deployments.execute(id, {
    type: request.type,
    actor: who.user,
    actorRoles: roles,
    at: Date.now(),
  });
  const done = `${request.type === 'pause' ? 'Paused' : 'Resumed'} ${request.service} (\`${id}\`).`;
  await respond({ response_type: 'ephemeral', text: result.ok ? done : result.message });
}
