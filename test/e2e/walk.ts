import { expect } from 'vitest';
import { walkedPhases } from '../../src/checklists/phases.js';
import type { Checklist, Item } from '../../src/checklists/schema.js';
import { ownerRole } from '../../src/deployments/engine.js';
import { type ItemState, isResolved, type Resolution } from '../../src/deployments/model.js';
import { signRequest } from '../../src/sandbox/slack/slack-driver.js';
import { ACTION } from '../../src/slack/action-ids.js';
import { failureMessageKey } from '../../src/slack/render/check-failure.js';
import { partitionPhase, phaseMessageKey } from '../../src/slack/render/phase-message.js';
import { CARD_KEY } from '../../src/slack/render/status-card.js';
import { type Harness, memberOf, SIGNING_SECRET } from '../support/harness.js';

/**
 * Drives a deployment through Slack the way a team would: clicks the buttons on the thread's messages as
 * people who hold the right roles, and waits for each click to land before the next.
 */

export async function waitUntil<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function startDeployment(h: Harness, service: string, version: string, actor?: string) {
  const config = h.file.services[service];
  if (!config) throw new Error(`no service ${service}`);
  const requester = actor ?? memberOf(h.file, config.deployers[0] ?? 'deployer');
  const response = await h.driver.slash(requester, config.channel, '/deploy', `start ${service} ${version}`);
  expect(response.status).toBe(200);
  const id = await waitUntil(() => h.bot.store.activeFor(service, config.environment), `${service} to start`);
  await waitUntil(() => h.bot.store.message(id, 'card'), 'the status card');
  await h.bot.context.presenter.idle(); // the first phase's message is posted too
  return { id, requester, channel: config.channel };
}

export function actorFor(h: Harness, item: Item, fallback: string): string {
  const role = ownerRole(item);
  return role ? memberOf(h.file, role) : fallback;
}

/** The Slack message (channel + ts) that shows `item`, once it is posted: its phase's message, or the card
 * when the thread is folded (a busy channel). */
export async function messageOf(h: Harness, deploymentId: string, checklist: Checklist, item: Item) {
  const phase = walkedPhases(checklist).find((candidate) => candidate.items.includes(item));
  if (!phase) throw new Error(`item ${item.id} is not in a walked phase`);
  const part = partitionPhase(phase).findIndex((items) => items.includes(item));
  const folded = (await h.bot.store.threadLayout(deploymentId)) === 'folded';
  const ts = await waitUntil(
    () => h.bot.store.message(deploymentId, folded ? CARD_KEY : phaseMessageKey(phase.id, part)),
    `the message of ${phase.id}`,
  );
  const loaded = await h.bot.store.load(deploymentId);
  return { channel: loaded?.state.channel as string, ts };
}

/** Clicks Done / N/A, or Skip… and fills the modal, then waits until the item is resolved in Redis. */
export async function resolveItem(
  h: Harness,
  deploymentId: string,
  checklist: Checklist,
  item: Item,
  how: {
    resolution: Resolution;
    actor: string;
    reason?: string;
    /** false: wait only for this person's signature (a sign-off that needs more people). */
    untilResolved?: boolean;
  },
): Promise<void> {
  const where = await messageOf(h, deploymentId, checklist, item);
  const value = `${deploymentId}|${item.id}`;
  // People click what they see: in a step-by-step phase the button shows once the step before landed.
  const actionId = { done: ACTION.itemDone, skipped: ACTION.itemSkip, 'n/a': ACTION.itemNotApplicable }[
    how.resolution
  ];
  await buttonShown(h, where, actionId, value);
  if (how.resolution === 'skipped') {
    const viewsBefore = h.slack.views.length;
    const click = await h.driver.clickButton(how.actor, where, { actionId: 'item.skip', value });
    expect(click.status).toBe(200);
    const view = await waitUntil(() => h.slack.views[viewsBefore], 'the skip modal');
    const submitted = await h.driver.submitView(how.actor, view.id, {
      reason: how.reason ?? 'not needed this time',
    });
    expect(submitted.status).toBe(200);
  } else {
    const click = await h.driver.clickButton(how.actor, where, {
      actionId: how.resolution === 'done' ? 'item.done' : 'item.na',
      value,
    });
    expect(click.status).toBe(200);
  }
  if (how.untilResolved === false) {
    await waitUntil(
      async () =>
        (await h.bot.store.load(deploymentId))?.state.items[item.id]?.signatures?.some(
          (signature) => signature.by === how.actor,
        ) || undefined,
      `${how.actor}'s signature on ${item.id}`,
    );
    return;
  }
  await waitUntil(
    async () => isResolved((await h.bot.store.load(deploymentId))?.state.items[item.id]),
    `${item.id} to resolve`,
  );
}

/** People holding `role` (direct members, then user-group members), other than `except`. */
export function signersFor(h: Harness, role: string, except: string): string[] {
  const config = h.file.roles[role];
  if (!config) throw new Error(`no role ${role}`);
  const members = [
    ...config.users,
    ...config.groups.flatMap((group) => [`U0${group.slice(1)}M1`, `U0${group.slice(1)}M2`]),
  ];
  return members.filter((member) => member !== except);
}

/** Waits until the message shows a button with this action id (and value, when given). */
export async function buttonShown(
  h: Harness,
  where: { channel: string; ts: string },
  actionId: string,
  value?: string,
): Promise<void> {
  const found = (node: unknown): boolean => {
    if (Array.isArray(node)) return node.some(found);
    if (!node || typeof node !== 'object') return false;
    const element = node as { type?: unknown; action_id?: unknown; value?: unknown };
    if (
      element.type === 'button' &&
      element.action_id === actionId &&
      (value === undefined || element.value === value)
    )
      return true;
    return Object.values(node).some(found);
  };
  await waitUntil(
    () => found(h.slack.message(where.channel, where.ts)?.blocks),
    `a ${actionId} button${value ? ` for ${value}` : ''}`,
  );
}

const SETTLED: ReadonlySet<string> = new Set(['passed', 'failed', 'error']);

/** Waits until the check's current run has a verdict (passed, failed or error) and returns its state. */
export async function settledCheck(
  h: Harness,
  deploymentId: string,
  itemId: string,
  timeoutMs = 30_000,
): Promise<ItemState> {
  return waitUntil(
    async () => {
      const state = (await h.bot.store.load(deploymentId))?.state.items[itemId];
      return state && SETTLED.has(state.status) ? state : undefined;
    },
    `check ${itemId} to settle`,
    timeoutMs,
  );
}

/** The threaded reply posted for a failed or errored run of a check. */
export async function failureReplyOf(h: Harness, deploymentId: string, itemId: string, run: number) {
  const ts = await waitUntil(
    () => h.bot.store.message(deploymentId, failureMessageKey(itemId, run)),
    `the failure reply of ${itemId} run ${run}`,
  );
  const loaded = await h.bot.store.load(deploymentId);
  return { channel: loaded?.state.channel as string, ts };
}

/** Override… on the check's failure reply, then the modal with a reason; waits until it is overridden. */
export async function overrideCheck(
  h: Harness,
  deploymentId: string,
  itemId: string,
  how: { actor: string; reason: string },
): Promise<void> {
  const state = await settledCheck(h, deploymentId, itemId);
  const where = await failureReplyOf(h, deploymentId, itemId, state.run ?? 1);
  const viewsBefore = h.slack.views.length;
  await buttonShown(h, where, ACTION.checkOverride);
  const click = await h.driver.clickButton(how.actor, where, { actionId: ACTION.checkOverride });
  expect(click.status).toBe(200);
  const view = await waitUntil(() => h.slack.views[viewsBefore], `the override modal of ${itemId}`);
  const submitted = await h.driver.submitView(how.actor, view.id, { reason: how.reason });
  expect(submitted.status).toBe(200);
  await waitUntil(
    async () => (await h.bot.store.load(deploymentId))?.state.items[itemId]?.overridden === true,
    `${itemId} to be overridden`,
  );
}

/** ↻ Re-run on the check's failure reply; waits for the new run's verdict. */
export async function rerunCheck(
  h: Harness,
  deploymentId: string,
  itemId: string,
  actor: string,
): Promise<ItemState> {
  const before = await settledCheck(h, deploymentId, itemId);
  const run = before.run ?? 1;
  const where = await failureReplyOf(h, deploymentId, itemId, run);
  await buttonShown(h, where, ACTION.checkRerun);
  const click = await h.driver.clickButton(actor, where, { actionId: ACTION.checkRerun });
  expect(click.status).toBe(200);
  return waitUntil(
    async () => {
      const state = (await h.bot.store.load(deploymentId))?.state.items[itemId];
      return state && (state.run ?? 0) > run && SETTLED.has(state.status) ? state : undefined;
    },
    `run ${run + 1} of ${itemId}`,
    30_000,
  );
}

/** Presses a traffic step's Shift button and waits until the shift is verified on the cluster. */
export async function shiftTraffic(
  h: Harness,
  deploymentId: string,
  checklist: Checklist,
  item: Item,
  actor: string,
): Promise<ItemState> {
  const where = await messageOf(h, deploymentId, checklist, item);
  const value = `${deploymentId}|${item.id}`;
  await buttonShown(h, where, 'traffic.shift', value);
  const click = await h.driver.clickButton(actor, where, { actionId: 'traffic.shift', value });
  expect(click.status).toBe(200);
  return waitUntil(
    async () => {
      const state = (await h.bot.store.load(deploymentId))?.state.items[item.id];
      if (state?.status === 'failed') throw new Error(`shift ${item.id} failed: ${state.result?.summary}`);
      return state?.status === 'done' ? state : undefined;
    },
    `traffic step ${item.id}`,
    20_000,
  );
}

/** Waits until a watch window has run out (its timer fired). */
export async function watchedOut(
  h: Harness,
  deploymentId: string,
  itemId: string,
  timeoutMs = 30_000,
): Promise<ItemState> {
  return waitUntil(
    async () => {
      const state = (await h.bot.store.load(deploymentId))?.state.items[itemId];
      return state?.status === 'done' ? state : undefined;
    },
    `watch window ${itemId}`,
    timeoutMs,
  );
}

/** How a team walks a seed's phase: who asked, what is skipped or n/a, which checks are overridden and why. */
export interface WalkPlan {
  requester: string;
  /** Items resolved by hand other than Done. */
  skip?: { itemId: string; reason: string };
  notApplicable?: string;
  /** Checks that cannot pass on this machine, by item id: overridden with this reason. */
  override?: Readonly<Record<string, string>>;
  /** The service's traffic steps are carried out (it has a strategy); otherwise they are clicked Done. */
  automaticTraffic?: boolean;
}

/**
 * Walks one phase the way seed-deployments.test.ts does: waits for it to open, then each item — traffic
 * steps shifted, watch windows waited out, sign-offs signed by enough distinct role members (never the
 * requester), checks waited for (overridden with a reason when listed, otherwise given two re-runs to
 * pass), the rest Done by someone holding the item's role.
 */
export async function walkPhase(
  h: Harness,
  deploymentId: string,
  checklist: Checklist,
  phase: Checklist['phases'][number],
  plan: WalkPlan,
): Promise<void> {
  await waitUntil(
    async () =>
      (await h.bot.store.load(deploymentId))?.state.phases[phase.id]?.status === 'active' || undefined,
    `${phase.id} to open`,
    60_000,
  );
  for (const item of phase.items) {
    const actor = actorFor(h, item, plan.requester);
    if (item.kind === 'traffic' && plan.automaticTraffic) {
      await shiftTraffic(h, deploymentId, checklist, item, plan.requester);
    } else if (item.kind === 'wait') {
      await watchedOut(h, deploymentId, item.id);
    } else if (item.id === plan.skip?.itemId) {
      await resolveItem(h, deploymentId, checklist, item, {
        resolution: 'skipped',
        actor,
        reason: plan.skip.reason,
      });
    } else if (item.id === plan.notApplicable) {
      await resolveItem(h, deploymentId, checklist, item, { resolution: 'n/a', actor });
    } else if (item.kind === 'signoff') {
      for (const signer of signersFor(h, item.signoff.role, plan.requester).slice(0, item.signoff.count)) {
        await resolveItem(h, deploymentId, checklist, item, {
          resolution: 'done',
          actor: signer,
          untilResolved: false,
        });
      }
      await waitUntil(
        async () =>
          (await h.bot.store.load(deploymentId))?.state.items[item.id]?.status === 'done' || undefined,
        `${item.id} signed`,
      );
    } else if (item.kind === 'check') {
      let state = await settledCheck(h, deploymentId, item.id);
      if (state.status === 'passed') continue;
      const why = plan.override?.[item.id];
      if (why) {
        await overrideCheck(h, deploymentId, item.id, { actor, reason: why });
        continue;
      }
      for (let rerun = 0; rerun < 2 && state.status !== 'passed'; rerun++) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        state = await rerunCheck(h, deploymentId, item.id, actor);
      }
      if (state.status !== 'passed')
        throw new Error(`check ${item.id} ${state.status} after ${state.run} runs: ${state.result?.summary}`);
    } else {
      await resolveItem(h, deploymentId, checklist, item, { resolution: 'done', actor });
    }
  }
}

/**
 * A button or overflow press on a message as the person's Slack may still show it — the bot has removed
 * the element since, or never showed it to anyone (a crafted client sends what it likes). Slack signs
 * whatever its client sends, so the receiver must apply the same rules as to a real click.
 */
export async function forgeAction(
  h: Harness,
  user: string,
  where: { channel: string; ts: string },
  action: { actionId: string; value: string; type?: 'button' | 'overflow' },
) {
  const message = h.slack.message(where.channel, where.ts);
  const element =
    action.type === 'overflow'
      ? {
          type: 'overflow',
          selected_option: { text: { type: 'plain_text', text: 'x' }, value: action.value },
        }
      : { type: 'button', text: { type: 'plain_text', text: 'x' }, value: action.value };
  const payload = {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: h.slack.teamId },
    api_app_id: h.slack.appId,
    token: 'fake-verification-token',
    container: { type: 'message', message_ts: where.ts, channel_id: where.channel, is_ephemeral: false },
    trigger_id: h.slack.newTriggerId(user),
    team: { id: h.slack.teamId, domain: h.slack.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: where.channel, name: h.slack.channelName(where.channel) },
    message: { ...message, blocks: [] },
    state: { values: {} },
    response_url: h.slack.newResponseUrl({ channel: where.channel, user, messageTs: where.ts }),
    actions: [
      {
        ...element,
        action_id: action.actionId,
        block_id: 'forged',
        action_ts: (Date.now() / 1000).toFixed(6),
      },
    ],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const response = await h.driver.send(body, signRequest(body, SIGNING_SECRET));
  expect(response.status).toBe(200);
}

/** A view submission for a modal `user` was never shown, e.g. a skip dialog opened for someone else. */
export async function forgeSubmission(
  h: Harness,
  user: string,
  callbackId: string,
  origin: { channel: string; deploymentId: string; target: string },
  reason: string,
) {
  const payload = {
    type: 'view_submission',
    team: { id: h.slack.teamId, domain: h.slack.teamDomain },
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: h.slack.teamId },
    api_app_id: h.slack.appId,
    token: 'fake-verification-token',
    trigger_id: h.slack.newTriggerId(user),
    view: {
      id: 'V0FORGED',
      type: 'modal',
      callback_id: callbackId,
      private_metadata: JSON.stringify(origin),
      state: { values: { reason: { 'reason.input': { type: 'plain_text_input', value: reason } } } },
      hash: 'forged',
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const response = await h.driver.send(body, signRequest(body, SIGNING_SECRET));
  expect(response.status).toBe(200);
}
