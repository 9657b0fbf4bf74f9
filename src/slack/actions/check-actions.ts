import type { BlockAction, ButtonAction, OverflowAction, webApi } from '@slack/bolt';
import { findItem } from '../../deployments/engine.js';
import { serializeError } from '../../observability/logger.js';
import { ACTION, VIEW } from '../action-ids.js';
import { allowedOrTold, type SlackContext, tellUser } from '../context.js';
import { renderItemDetails } from '../render/details.js';
import { truncate } from '../render/format.js';
import type { InteractionRouter } from '../router.js';
import { type Click, openModal, postPrivately, readClick } from './item-actions.js';
import { ackReason, readModalMetadata, reasonModal } from './modals.js';

/**
 * Controls on automated checks: Re-run (anyone who may act on the item) and Override… (its owner role,
 * the deployers or the requester; a reason is required and goes to the audit stream). They sit in the
 * overflow menu of the check's row and as buttons on the failure reply.
 */
export function registerCheckActions(app: InteractionRouter, context: SlackContext): void {
  app.action<BlockAction<OverflowAction>>(ACTION.checkMenu, async ({ ack, body, action, client }) => {
    await ack();
    const [verb, deploymentId, itemId] = action.selected_option.value.split('|');
    const channel = body.channel?.id ?? body.container?.channel_id;
    if (!verb || !deploymentId || !itemId || !channel) return;
    const click: Click = {
      user: body.user.id,
      channel,
      threadTs: body.message?.thread_ts ?? body.container?.thread_ts,
      triggerId: body.trigger_id,
      deploymentId,
      target: itemId,
    };
    if (verb === 'rerun') await rerun(context, client, click);
    else if (verb === 'override') await askOverride(context, client, click);
    else if (verb === 'details') await showDetails(context, client, click);
  });

  app.action<BlockAction<ButtonAction>>(ACTION.checkRerun, async ({ ack, body, action, client }) => {
    await ack();
    const click = readClick(body, action);
    if (click) await rerun(context, client, click);
  });

  app.action<BlockAction<ButtonAction>>(ACTION.checkOverride, async ({ ack, body, action, client }) => {
    await ack();
    const click = readClick(body, action);
    if (click) await askOverride(context, client, click);
  });

  app.view(VIEW.overrideCheck, async ({ ack, view, body, client }) => {
    const reason = await ackReason(view, ack, 'Say why the check is overridden (at least 3 characters).');
    if (!reason) return;
    const origin = readModalMetadata(view);
    if (!origin) return;
    const user = body.user.id;
    try {
      const roles = await context.roles.rolesOf(user);
      const result = await context.deployments.execute(origin.deploymentId, {
        type: 'override-check',
        itemId: origin.target,
        actor: user,
        actorRoles: roles,
        reason,
        at: Date.now(),
      });
      if (!result.ok && result.code !== 'unchanged')
        await tellUser(client, context, { ...origin, user }, result.message);
    } catch (error) {
      context.logger.error(
        { deploymentId: origin.deploymentId, item: origin.target, err: serializeError(error) },
        'override failed',
      );
      await tellUser(
        client,
        context,
        { ...origin, user },
        'The override could not be recorded; nothing changed. Please try again.',
      );
    }
  });
}

async function rerun(context: SlackContext, client: webApi.WebClient, click: Click): Promise<void> {
  try {
    const roles = await context.roles.rolesOf(click.user);
    const result = await context.deployments.execute(click.deploymentId, {
      type: 'rerun-check',
      itemId: click.target,
      actor: click.user,
      actorRoles: roles,
      at: Date.now(),
    });
    if (!result.ok) await tellUser(client, context, click, result.message);
  } catch (error) {
    context.logger.error(
      { deploymentId: click.deploymentId, item: click.target, err: serializeError(error) },
      're-run failed',
    );
    await tellUser(
      client,
      context,
      click,
      'The re-run could not be requested; nothing changed. Please try again.',
    );
  }
}

/** Checks permission first, so nobody types a reason only to be refused. */
async function askOverride(context: SlackContext, client: webApi.WebClient, click: Click): Promise<void> {
  const loaded = await allowedOrTold(client, context, click, (roles) => ({
    type: 'override-check',
    itemId: click.target,
    actor: click.user,
    actorRoles: roles,
    reason: '(asking)',
    at: Date.now(),
  }));
  const found = loaded && findItem(loaded.checklist, click.target);
  if (!loaded || !found || found.item.kind !== 'check') return;
  const last = loaded.state.items[click.target]?.result?.summary;
  await openModal(
    client,
    context,
    click,
    reasonModal({
      callbackId: VIEW.overrideCheck,
      title: 'Override check',
      submit: 'Override',
      prompt: `Treat *${truncate(found.item.title, 200)}* as passed${last ? ` although it shows “${truncate(last, 300)}”` : ''}? Your name and reason go into the audit log and the report.`,
      placeholder: 'e.g. the spike is the known batch job; error rate is back under 0.1%',
      metadata: click,
    }),
  );
}

async function showDetails(context: SlackContext, client: webApi.WebClient, click: Click): Promise<void> {
  const loaded = await context.store.load(click.deploymentId);
  const found = loaded && findItem(loaded.checklist, click.target);
  if (!loaded || !found) return;
  await postPrivately(
    client,
    context,
    click,
    renderItemDetails(found.item, loaded.state.items[click.target]),
  );
}
