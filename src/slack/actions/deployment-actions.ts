import type { BlockAction, ButtonAction } from '@slack/bolt';
import { ACTION, VIEW } from '../action-ids.js';
import { allowedOrTold, type SlackContext, tellUser } from '../context.js';
import type { InteractionRouter } from '../router.js';
import { openModal, readClick } from './item-actions.js';
import { ackReason, type ModalOrigin, readModalMetadata, reasonModal } from './modals.js';

/** Buttons on the status card. Abort asks for a reason in a modal, which doubles as the confirmation. */
export function registerDeploymentActions(app: InteractionRouter, context: SlackContext): void {
  app.action<BlockAction<ButtonAction>>(ACTION.deploymentAbort, async ({ ack, body, action, client }) => {
    await ack();
    const click = readClick(body, action);
    if (!click) return;
    const loaded = await allowedOrTold(client, context, click, (roles) => ({
      type: 'abort',
      actor: click.user,
      actorRoles: roles,
      reason: '(asking)',
      at: Date.now(),
    }));
    if (!loaded) return;
    await openModal(
      client,
      context,
      click,
      abortModal(`${loaded.state.service} ${loaded.state.version}`, click),
    );
  });

  // The roles the chain called, the owners of what waits, and the deployers may take it.
  app.action<BlockAction<ButtonAction>>(
    ACTION.escalationAcknowledge,
    async ({ ack, body, action, client }) => {
      await ack();
      const click = readClick(body, action);
      if (!click) return;
      const result = await context.deployments.execute(click.deploymentId, {
        type: 'acknowledge-escalation',
        key: click.target,
        actor: click.user,
        actorRoles: await context.roles.rolesOf(click.user),
        at: Date.now(),
      });
      if (!result.ok) await tellUser(client, context, click, result.message);
    },
  );

  app.view(VIEW.abortDeployment, async ({ ack, view, body, client }) => {
    const reason = await ackReason(view, ack, 'Say why the deployment is aborted.');
    if (!reason) return;
    const origin = readModalMetadata(view);
    if (!origin) return;
    const roles = await context.roles.rolesOf(body.user.id);
    const result = await context.deployments.execute(origin.deploymentId, {
      type: 'abort',
      actor: body.user.id,
      actorRoles: roles,
      reason,
      at: Date.now(),
    });
    if (!result.ok) await tellUser(client, context, { ...origin, user: body.user.id }, result.message);
  });
}

function abortModal(what: string, click: ModalOrigin) {
  return reasonModal({
    callbackId: VIEW.abortDeployment,
    title: 'Abort deployment',
    submit: 'Abort',
    prompt: `Abort *${what}*? The checklist stops here and the lock is released. Traffic is not changed.`,
    placeholder: 'e.g. wrong build tagged',
    metadata: click,
  });
}
