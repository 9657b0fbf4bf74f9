import type { RespondFn } from '@slack/bolt';
import type { SlackContext } from '../context.js';

/** `/deploy abort <service> <reason>`: aborts the service's active deployment. */
export async function abortByCommand(
  context: SlackContext,
  respond: RespondFn,
  actor: string,
  serviceName: string,
  reason: string,
): Promise<void> {
  const service = context.catalogue.services[serviceName];
  const id = service ? await context.store.activeFor(serviceName, service.environment) : undefined;
  if (!id) {
    await respond({ response_type: 'ephemeral', text: `${serviceName} has no active deployment.` });
    return;
  }
  const roles = await context.roles.rolesOf(actor);
  const result = await context.deployments.execute(id, {
    type: 'abort',
    actor,
    actorRoles: roles,
    reason,
    at: Date.now(),
  });
  await respond({
    response_type: 'ephemeral',
    text: result.ok ? `Aborted ${serviceName} (\`${id}\`).` : result.message,
  });
}
