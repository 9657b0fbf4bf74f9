import type { RespondFn, webApi } from '@slack/bolt';
import { isDeployer } from '../../deployments/engine.js';
import { BOT_ACTOR } from '../../deployments/model.js';
import { type SlackContext, threadLink } from '../context.js';
import { mention, slackDateTime } from '../render/format.js';

/** `/deploy start <service> <version>`: checks the starter is a deployer, starts, and waits for the thread. */
export async function start(
  context: SlackContext,
  client: webApi.WebClient,
  respond: RespondFn,
  request: { service: string; version: string; checklistId?: string; actor: string },
): Promise<void> {
  const service = context.catalogue.services[request.service];
  if (service) {
    // The same rule as every other steering action, with nobody yet the requester.
    const roles = await context.roles.rolesOf(request.actor);
    if (!isDeployer({ requestedBy: '', deployers: service.deployers }, { actor: request.actor, roles })) {
      // No deployment exists to hold the refusal in its audit stream: it goes to the log, as an audit line.
      context.logger.info(
        { audit: 'access.refused', actor: request.actor, action: 'start', service: request.service },
        'refused: start',
      );
      await respond({
        response_type: 'ephemeral',
        text: `Only the *${service.deployers.join('*, *')}* role can start ${request.service} deployments. Nothing was started.`,
      });
      return;
    }
  }
  const result = await context.deployments.start(request);
  if (!result.ok) {
    if (result.code === 'locked') {
      const active = await context.store.load(result.activeId);
      const link = await threadLink(client, context, result.activeId);
      const who = active
        ? ` started by ${mention(active.state.requestedBy)} ${slackDateTime(active.state.createdAt)} (${active.state.version})`
        : '';
      await respond({
        response_type: 'ephemeral',
        text: `${result.message}${who}. ${link ? `<${link}|Open its thread>` : `Deployment \`${result.activeId}\``}. Finish or abort it first.`,
      });
      return;
    }
    await respond({ response_type: 'ephemeral', text: result.message });
    return;
  }

  const posted = await context.presenter.started(result.deployment.id);
  if (!posted.ok) {
    // Without a thread nobody can walk the checklist: undo the start so the lock is free again.
    await context.deployments.execute(result.deployment.id, {
      type: 'abort',
      actor: BOT_ACTOR,
      actorRoles: [],
      reason: `could not post in <#${result.deployment.channel}>: ${posted.error}`,
      at: Date.now(),
    });
    const hint =
      posted.error === 'not_in_channel' || posted.error === 'channel_not_found'
        ? ' Invite the bot with `/invite @Flightdeck` and try again.'
        : '';
    await respond({
      response_type: 'ephemeral',
      text: `Could not post in <#${result.deployment.channel}> (${posted.error}), so nothing was started.${hint}`,
    });
    return;
  }
  const link = await threadLink(client, context, result.deployment.id);
  await respond({
    response_type: 'ephemeral',
    text: `Started ${request.service} ${request.version} (\`${result.deployment.id}\`) in <#${result.deployment.channel}>.${link ? ` <${link}|Open the thread>` : ''}`,
  });
}
