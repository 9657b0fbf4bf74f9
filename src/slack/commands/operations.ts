import type { RespondFn } from '@slack/bolt';
import type { SlackContext } from '../context.js';
import type { DeployRequest } from './parse.js';

/** Who typed an operation command, where: what a confirmation modal needs. */
export interface CommandOrigin {
  user: string;
  channel: string;
  triggerId: string;
}

type OperationRequest = Extract<DeployRequest, { type: 'traffic' | 'rollback' | 'pause' | 'resume' }>;

/**
 * The deployment an operation command acts on: the service's active one (for a rollback, after promotion,
 * also its last deployment if it completed). Undefined after telling the person there is none.
 */
export async function operatedDeployment(
  context: SlackContext,
  respond: RespondFn,
  request: OperationRequest,
): Promise<string | undefined> {
  const service = context.catalogue.services[request.service];
  let id = service ? await context.store.activeFor(request.service, service.environment) : undefined;
  if (!id && service && request.type === 'rollback') {
    // After promotion: the service's last deployment, if it completed, can still be rolled back.
    const last = (await context.store.history(request.service, 1))[0];
    const loaded = last ? await context.store.load(last) : undefined;
    if (loaded?.state.status === 'completed') id = last;
  }
  if (!id || !service) {
    await respond({
      response_type: 'ephemeral',
      text: `${request.service} has no ${request.type === 'rollback' ? 'active or just-completed' : 'active'} deployment.`,
    });
    return undefined;
  }
  return id;
}

/** The click a confirmation modal of this command answers to. */
export function commandClick(who: CommandOrigin, deploymentId: string, target: string) {
  return { user: who.user, channel: who.channel, triggerId: who.triggerId, deploymentId, target };
}
