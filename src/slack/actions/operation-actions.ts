import type { BlockAction, ButtonAction, webApi } from '@slack/bolt';
import type { Item } from '../../checklists/schema.js';
import type { Command } from '../../deployments/engine.js';
import { isRollingBack } from '../../deployments/model.js';
import { serializeError } from '../../observability/logger.js';
import { ACTION, VIEW } from '../action-ids.js';
import { parseTarget } from '../commands/parse.js';
import { allowedOrTold, type SlackContext, tellUser, threadLink } from '../context.js';
import { truncate } from '../render/format.js';
import { describeTarget } from '../render/operations.js';
import type { InteractionRouter } from '../router.js';
import { type Click, openModal, readClick } from './item-actions.js';
import { ackReason, type ModalOrigin, readModalMetadata, reasonModal } from './modals.js';

/**
 * Traffic and rollback from Slack: the Shift button on a traffic step, Roll back… on the card (and on a
 * fired trigger or a failed rollback), Pause / Resume. Everything dangerous asks first — a modal with a
 * reason for a rollback, a confirmation for full traffic or a slot switch — and every refusal is private.
 */
export function registerOperationActions(app: InteractionRouter, context: SlackContext): void {
  app.action<BlockAction<ButtonAction>>(ACTION.trafficShift, async ({ ack, body, action, client }) => {
    await ack();
    const click = readClick(body, action);
    if (!click) return;
    await run(context, client, click, async (roles) => ({
      type: 'request-traffic',
      itemId: click.target,
      actor: click.user,
      actorRoles: roles,
      at: Date.now(),
    }));
  });

  app.action<BlockAction<ButtonAction>>(ACTION.deploymentRollback, async ({ ack, body, action, client }) => {
    await ack();
    const click = readClick(body, action);
    if (click) await askRollback(context, client, click);
  });

  for (const [actionId, type] of [
    [ACTION.deploymentPause, 'pause'],
    [ACTION.deploymentResume, 'resume'],
  ] as const) {
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, client }) => {
      await ack();
      const click = readClick(body, action);
      if (click)
        await run(context, client, click, async (roles) => ({
          type,
          actor: click.user,
          actorRoles: roles,
          at: Date.now(),
        }));
    });
  }

  // A fired trigger holds the next shifts: who may roll back may instead let them go ahead, with a reason.
  app.action<BlockAction<ButtonAction>>(ACTION.triggerOverride, async ({ ack, body, action, client }) => {
    await ack();
    const click = readClick(body, action);
    if (!click) return;
    const loaded = await allowedOrTold(client, context, click, (roles) => ({
      type: 'override-guard',
      triggerId: click.target,
      actor: click.user,
      actorRoles: roles,
      reason: '(asking)',
      at: Date.now(),
    }));
    if (!loaded) return;
    const trigger = loaded.checklist.rollback?.triggers.find((candidate) => candidate.id === click.target);
    await openModal(
      client,
      context,
      click,
      reasonModal({
        callbackId: VIEW.overrideTrigger,
        title: 'Override the hold',
        submit: 'Override',
        prompt: `*${truncate(trigger?.title ?? click.target, 200)}* fired, so traffic shifts wait. Let them go ahead anyway? The trigger keeps watching; your name and reason go into the audit log and the report.`,
        placeholder: 'e.g. the health endpoint flaps; error rate and p95 are flat',
        metadata: click,
      }),
    );
  });

  app.view(VIEW.overrideTrigger, async ({ ack, view, body, client }) => {
    const reason = await ackReason(view, ack, 'Say why the hold is overridden (it goes into the report).');
    if (!reason) return;
    const origin = readModalMetadata(view);
    if (!origin) return;
    await run(context, client, { ...origin, user: body.user.id }, async (roles) => ({
      type: 'override-guard',
      triggerId: origin.target,
      actor: body.user.id,
      actorRoles: roles,
      reason,
      at: Date.now(),
    }));
  });

  app.view(VIEW.rollback, async ({ ack, view, body, client }) => {
    const reason = await ackReason(view, ack, 'Say why you roll back (it goes into the report).');
    if (!reason) return;
    const origin = readModalMetadata(view);
    if (!origin) return;
    const click = { ...origin, user: body.user.id };
    await run(context, client, click, async (roles) => ({
      type: 'request-rollback',
      actor: body.user.id,
      actorRoles: roles,
      reason,
      at: Date.now(),
    }));
  });

  app.view(VIEW.confirmTraffic, async ({ ack, view, body, client }) => {
    await ack();
    const origin = readModalMetadata(view);
    const target = origin && parseTarget(origin.target);
    if (!origin || !target) return;
    await run(context, client, { ...origin, user: body.user.id }, async (roles) => ({
      type: 'request-traffic',
      target,
      // The dialog said what the shift jumps over; submitting it is the confirmation.
      confirmed: true,
      actor: body.user.id,
      actorRoles: roles,
      at: Date.now(),
    }));
  });
}

/** Runs a command as the clicking person; anything refused is explained to them alone. */
async function run(
  context: SlackContext,
  client: webApi.WebClient,
  click: Pick<Click, 'user' | 'channel' | 'threadTs' | 'deploymentId'>,
  build: (roles: string[]) => Promise<Command>,
): Promise<void> {
  try {
    const roles = await context.roles.rolesOf(click.user);
    const result = await context.deployments.execute(click.deploymentId, await build(roles));
    if (!result.ok) await tellUser(client, context, click, result.message);
  } catch (error) {
    context.logger.error(
      { deploymentId: click.deploymentId, err: serializeError(error) },
      'operation request failed',
    );
    await tellUser(
      client,
      context,
      click,
      'That could not be recorded (Flightdeck could not reach its store). Nothing changed; try again.',
    );
  }
}

/** Asks for a reason before rolling back; refuses first if the person may not. */
export async function askRollback(
  context: SlackContext,
  client: webApi.WebClient,
  click: Click,
  suggested?: string,
): Promise<void> {
  const loaded = await allowedOrTold(client, context, click, (roles) => ({
    type: 'request-rollback',
    actor: click.user,
    actorRoles: roles,
    reason: '(asking)',
    at: Date.now(),
  }));
  if (!loaded) return;
  const superseded = loaded.state.supersededBy;
  if (superseded) {
    const link = await threadLink(client, context, superseded.id);
    await tellUser(
      client,
      context,
      click,
      `${loaded.state.service} ${superseded.version} has started since, so ${loaded.state.version} is no longer what runs; nothing was rolled back. ${link ? `<${link}|Roll back from its thread>` : `Roll back from deployment \`${superseded.id}\``}.`,
    );
    return;
  }
  if (isRollingBack(loaded.state)) {
    await tellUser(client, context, click, 'A rollback is already in progress.');
    return;
  }
  const where = (loaded.state.liveAtStart ?? loaded.state.traffic?.initial)?.description;
  const view = reasonModal({
    callbackId: VIEW.rollback,
    title: 'Roll back',
    submit: 'Roll back',
    prompt: truncate(
      `Roll back *${loaded.state.service} ${loaded.state.version}* to what was live when it started${where ? `: “${where}”` : ''}? Traffic moves back (nothing moves if it is still there) and the deployment ends as rolled back.`,
      3000,
    ),
    placeholder: 'e.g. checkout errors up since the 50% step',
    metadata: {
      channel: click.channel,
      deploymentId: click.deploymentId,
      target: 'rollback',
      ...(click.threadTs ? { threadTs: click.threadTs } : {}),
    },
    ...(suggested ? { initial: suggested } : {}),
  });
  await openModal(client, context, click, view);
}

/**
 * The confirmation for a `/deploy traffic` that sends every user to the new version, switches slots, or
 * jumps over a watch window: what moves, and what the checklist will show for it.
 */
export function trafficConfirmModal(
  origin: ModalOrigin & { target: string },
  what: string,
  plan: { steps: Item[]; jumped: Item[] } = { steps: [], jumped: [] },
): webApi.ViewsOpenArguments['view'] {
  const target = parseTarget(origin.target);
  const everyone = target && ('slot' in target || target.weight === 100);
  const names = (items: Item[]) => items.map((item) => `“${item.title}”`).join(', ');
  const lines = [
    `Shift *${what}* to ${target ? describeTarget(target) : origin.target}?${everyone ? ' Every user will hit the new version; the rollback triggers stay armed.' : ''}`,
    ...(plan.jumped.length > 0
      ? [`⚠️ This jumps over ${names(plan.jumped)}, not watched yet: they are marked skipped, with your name.`]
      : []),
    ...(plan.steps.length > 0 ? [`The checklist marks ${names(plan.steps)} done by this shift.`] : []),
  ];
  return {
    type: 'modal',
    callback_id: VIEW.confirmTraffic,
    title: { type: 'plain_text', text: everyone ? 'Move all traffic?' : 'Skip a watch window?' },
    submit: { type: 'plain_text', text: 'Shift traffic' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: JSON.stringify(origin),
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: truncate(lines.join('\n'), 3000) },
      },
    ],
  };
}
