import type { RespondFn, webApi } from '@slack/bolt';
import { commandShiftPlan } from '../../deployments/engine.js';
import { openModal } from '../actions/item-actions.js';
import { trafficConfirmModal } from '../actions/operation-actions.js';
import type { SlackContext } from '../context.js';
import { describeTarget } from '../render/operations.js';
import { type CommandOrigin, commandClick, operatedDeployment } from './operations.js';
import type { DeployRequest } from './parse.js';

/** `/deploy traffic <service> <target>`: shifts traffic on the service's active deployment. */
export async function traffic(
  context: SlackContext,
  client: webApi.WebClient,
  respond: RespondFn,
  request: Extract<DeployRequest, { type: 'traffic' }>,
  who: CommandOrigin,
): Promise<void> {
  const id = await operatedDeployment(context, respond, request);
  if (!id) return;
  const roles = await context.roles.rolesOf(who.user);
  const target = request.target;
  const verdict = await context.deployments.permitted(id, {
    type: 'request-traffic',
    target,
    actor: who.user,
    actorRoles: roles,
    at: Date.now(),
  });
  if (!verdict.ok) {
    await respond({ response_type: 'ephemeral', text: `${verdict.message} Nothing changed.` });
    return;
  }
  // All traffic, a slot switch, or a jump over a watch window not yet watched: asked first, saying what
  // the checklist will show afterwards.
  const plan = commandShiftPlan(verdict.loaded.checklist, verdict.loaded.state, target);
  if ('slot' in target || target.weight === 100 || plan.jumped.length > 0) {
    const origin = {
      channel: who.channel,
      deploymentId: id,
      target: 'slot' in target ? target.slot : String(target.weight),
    };
    await openModal(
      client,
      context,
      commandClick(who, id, request.type),
      trafficConfirmModal(origin, request.service, plan),
    );
    return;
  }
  const result = await context.deployments.execute(id, {
    type: 'request-traffic',
    target,
    actor: who.user,
    actorRoles: roles,
    at: Date.now(),
  });
  const done = `Shifting ${request.service} to ${describeTarget(target)}; the thread shows the result.`;
  await respond({ response_type: 'ephemeral', text: result.ok ? done : result.message });
}
