import type { BlockAction, ButtonAction, webApi } from '@slack/bolt';
import { walkedPhases } from '../../checklists/phases.js';
import { findItem } from '../../deployments/engine.js';
import type { Resolution } from '../../deployments/model.js';
import { serializeError } from '../../observability/logger.js';
import { ACTION, VIEW } from '../action-ids.js';
import { allowedOrTold, type SlackContext, tellUser } from '../context.js';
import { renderItemDetails, renderPhaseDetails } from '../render/details.js';
import { parseActionValue, type SlackMessage, truncate } from '../render/format.js';
import type { InteractionRouter } from '../router.js';
import { ackReason, readModalMetadata, reasonModal } from './modals.js';

/**
 * Buttons on checklist items. Each listener acks first; the role lookup, the transition and any reply
 * happen after. The thread updates through the presenter, so a listener only speaks up when the click did
 * not change anything (denied, phase not open, …) — privately, to the person who clicked.
 */

export interface Click {
  user: string;
  channel: string;
  threadTs?: string;
  triggerId: string;
  deploymentId: string;
  target: string;
}

/** Who clicked what, where; undefined for a malformed payload (nothing to act on). */
export function readClick(body: BlockAction, action: ButtonAction): Click | undefined {
  const parsed = parseActionValue(action.value);
  const channel = body.channel?.id ?? body.container?.channel_id;
  if (!parsed || !channel) return undefined;
  const threadTs = body.message?.thread_ts ?? body.container?.thread_ts;
  return { user: body.user.id, channel, threadTs, triggerId: body.trigger_id, ...parsed };
}

export function registerItemActions(app: InteractionRouter, context: SlackContext): void {
  const resolveWith = (resolution: Resolution) =>
    async function handler({ ack, body, action, client }: ButtonArgs): Promise<void> {
      await ack();
      const click = readClick(body, action);
      if (click) await resolve(context, client, click, resolution);
    };
  app.action<BlockAction<ButtonAction>>(ACTION.itemDone, resolveWith('done'));
  app.action<BlockAction<ButtonAction>>(ACTION.itemNotApplicable, resolveWith('n/a'));

  app.action<BlockAction<ButtonAction>>(ACTION.itemWithdraw, async ({ ack, body, action, client }) => {
    await ack();
    const click = readClick(body, action);
    if (!click) return;
    const result = await context.deployments.execute(click.deploymentId, {
      type: 'withdraw-signoff',
      itemId: click.target,
      actor: click.user,
      at: Date.now(),
    });
    if (!result.ok) await tellUser(client, context, click, result.message);
  });

  app.action<BlockAction<ButtonAction>>(ACTION.itemReopen, async ({ ack, body, action, client }) => {
    await ack();
    const click = readClick(body, action);
    if (!click) return;
    const roles = await context.roles.rolesOf(click.user);
    const result = await context.deployments.execute(click.deploymentId, {
      type: 'reopen-item',
      itemId: click.target,
      actor: click.user,
      actorRoles: roles,
      at: Date.now(),
    });
    if (!result.ok && result.code !== 'unchanged') await tellUser(client, context, click, result.message);
  });

  app.action<BlockAction<ButtonAction>>(ACTION.itemSkip, async ({ ack, body, action, client }) => {
    await ack();
    const click = readClick(body, action);
    if (!click) return;
    // Say no before asking for a reason, rather than after the person has typed one: the same rule the
    // engine applies to the skip itself.
    const loaded = await allowedOrTold(client, context, click, (roles) => ({
      type: 'resolve-item',
      itemId: click.target,
      resolution: 'skipped',
      actor: click.user,
      actorRoles: roles,
      at: Date.now(),
    }));
    const found = loaded && findItem(loaded.checklist, click.target);
    if (!found) return;
    const waiver = found.item.kind === 'signoff';
    const traffic =
      found.item.kind === 'traffic' ? ' Traffic stays where it is, and the report says so.' : '';
    await openModal(
      client,
      context,
      click,
      reasonModal({
        callbackId: VIEW.skipItem,
        title: waiver ? 'Waive sign-off' : 'Skip item',
        submit: waiver ? 'Waive' : 'Skip',
        prompt: waiver
          ? `Waive *${truncate(found.item.title, 200)}* instead of it being signed? A waiver is not a signature: the report names you, as the waiver, with your reason.`
          : `Why skip *${truncate(found.item.title, 200)}*?${traffic} The reason goes into the audit log and the report.`,
        placeholder: waiver
          ? 'e.g. the approver is out; change reviewed in the incident channel'
          : 'e.g. covered by the staging run an hour ago',
        metadata: click,
      }),
    );
  });

  app.view(VIEW.skipItem, async ({ ack, view, body, client }) => {
    const reason = await ackReason(view, ack, 'Say why it is skipped (at least 3 characters).');
    if (!reason) return;
    const click = readModalMetadata(view);
    if (click) await resolve(context, client, { ...click, user: body.user.id }, 'skipped', reason);
  });

  app.action<BlockAction<ButtonAction>>(ACTION.itemDetails, async ({ ack, body, action, client }) => {
    await ack();
    const click = readClick(body, action);
    if (!click) return;
    const loaded = await context.store.load(click.deploymentId);
    const found = loaded && findItem(loaded.checklist, click.target);
    if (!found) return;
    await postPrivately(client, context, click, renderItemDetails(found.item));
  });

  app.action<BlockAction<ButtonAction>>(ACTION.phaseDetails, async ({ ack, body, action, client }) => {
    await ack();
    const click = readClick(body, action);
    if (!click) return;
    const loaded = await context.store.load(click.deploymentId);
    const phase = loaded && walkedPhases(loaded.checklist).find((candidate) => candidate.id === click.target);
    if (phase) await postPrivately(client, context, click, renderPhaseDetails(phase));
  });
}

type ButtonArgs = {
  ack: () => Promise<void>;
  body: BlockAction;
  action: ButtonAction;
  client: webApi.WebClient;
};

async function resolve(
  context: SlackContext,
  client: webApi.WebClient,
  click: Pick<Click, 'user' | 'channel' | 'threadTs' | 'deploymentId' | 'target'>,
  resolution: Resolution,
  reason?: string,
): Promise<void> {
  try {
    const roles = await context.roles.rolesOf(click.user);
    const result = await context.deployments.execute(click.deploymentId, {
      type: 'resolve-item',
      itemId: click.target,
      resolution,
      actor: click.user,
      actorRoles: roles,
      at: Date.now(),
      ...(reason ? { reason } : {}),
    });
    // "Already done" needs no reply: the message shows it, and double taps are common on phones.
    if (!result.ok && result.code !== 'unchanged') await tellUser(client, context, click, result.message);
  } catch (error) {
    context.logger.error(
      { deploymentId: click.deploymentId, item: click.target, err: serializeError(error) },
      'item click failed',
    );
    await tellUser(
      client,
      context,
      click,
      'That click could not be recorded (Flightdeck could not reach its store). Nothing changed; please try again.',
    );
  }
}

export async function openModal(
  client: webApi.WebClient,
  context: SlackContext,
  click: Click,
  view: webApi.ViewsOpenArguments['view'],
): Promise<void> {
  try {
    await client.views.open({ trigger_id: click.triggerId, view });
  } catch (error) {
    context.logger.warn(
      { deploymentId: click.deploymentId, err: serializeError(error) },
      'could not open modal',
    );
    await tellUser(client, context, click, 'Slack did not open the dialog in time; please click again.');
  }
}

export async function postPrivately(
  client: webApi.WebClient,
  context: SlackContext,
  click: Click,
  message: SlackMessage,
): Promise<void> {
  try {
    await client.chat.postEphemeral({
      channel: click.channel,
      user: click.user,
      text: message.text,
      blocks: message.blocks,
      ...(click.threadTs ? { thread_ts: click.threadTs } : {}),
    });
  } catch (error) {
    context.logger.warn(
      { deploymentId: click.deploymentId, err: serializeError(error) },
      'could not post details',
    );
  }
}
