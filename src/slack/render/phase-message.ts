import type { types } from '@slack/bolt';
import { describeItemSpec } from '../../checklists/describe.js';
import { isRollbackPhase, walkedPhases } from '../../checklists/phases.js';
import type { Checklist, Item, Phase, Trigger } from '../../checklists/schema.js';
import { blockedBy, ownerRole } from '../../deployments/engine.js';
import { type Deployment, type ItemState, isResolved } from '../../deployments/model.js';
import { watchVerdict } from '../../rollback-triggers/evaluate.js';
import { formatDuration } from '../../shared/duration.js';
import { ACTION } from '../action-ids.js';
import {
  actionValue,
  type Block,
  escapeText,
  ITEM_EMOJI,
  mention,
  type SlackMessage,
  slackTime,
  truncate,
} from './format.js';

/**
 * A phase's threaded message: its items with their state and buttons. A phase with more items than one
 * message holds continues in further messages; the split depends only on the checklist, so each part
 * keeps its Slack message for the whole deployment.
 *
 * Size: a part is chosen so that its items fit Slack's 50 blocks, and fit its text limit even at the most
 * compact rendering (short titles, reasons left to Details). Each render then uses the roomiest
 * rendering that fits, so long reasons show in full whenever there is space.
 */

export const MAX_BLOCKS = 50;
/** Header and status line. */
const OVERHEAD_BLOCKS = 2;
/** Slack has refused messages near 13k characters of block text; keep a margin. */
export const TEXT_BUDGET = 11_000;
/** Header (150) and status line, generously. */
const OVERHEAD_TEXT = 400;

/** How much of each free text an item row shows, from roomiest to most compact. */
interface Caps {
  title: number;
  spec: number;
  reason: number;
}
const ROOMY: Caps = { title: 300, spec: 300, reason: 300 };
const COMPACT: Caps = { title: 150, spec: 150, reason: 100 };
const TIGHT: Caps = { title: 80, spec: 80, reason: 0 };
const LEVELS = [ROOMY, COMPACT, TIGHT];

/** What the renderer knows beyond the deployment: which check runs a worker has picked up. */
export interface PhaseRenderContext {
  startedChecks?: Readonly<Record<string, number>>;
  /**
   * Mentions for a role's people, leaving out those in `except` (follow-up phases call their owners when
   * they open; a sign-off calls whoever of its role may still sign).
   */
  mentions?: (role: string, except?: ReadonlySet<string>) => string | undefined;
  /** Who may not sign off (the requester, when the checklist asks for four eyes). */
  mayNotSign?: string;
  /** What a watch window that ran out can say about the triggers it watched (set by renderAt). */
  watched?: (item: Extract<Item, { kind: 'wait' }>) => string;
}

export function phaseMessageKey(phaseId: string, part: number): string {
  return `phase:${phaseId}:${part}`;
}

/** Splits a phase's items into message-sized parts (see the note at the top). */
/** Phases are immutable (each deployment's filled checklist is cached), and every check result asks. */
const partitions = new WeakMap<Phase, ReadonlyArray<readonly Item[]>>();

export function partitionPhase(phase: Phase): ReadonlyArray<readonly Item[]> {
  const cached = partitions.get(phase);
  if (cached) return cached;
  const parts: Item[][] = [];
  let current: Item[] = [];
  let blocks = OVERHEAD_BLOCKS;
  let text = OVERHEAD_TEXT;
  for (const item of phase.items) {
    const cost = worstCase(item);
    if (current.length > 0 && (blocks + cost.blocks > MAX_BLOCKS || text + cost.text > TEXT_BUDGET)) {
      parts.push(current);
      current = [];
      blocks = OVERHEAD_BLOCKS;
      text = OVERHEAD_TEXT;
    }
    current.push(item);
    blocks += cost.blocks;
    text += cost.text;
  }
  parts.push(current);
  partitions.set(phase, parts);
  return parts;
}

/**
 * The most blocks and block text the phase's message can take (every item at its largest, with header and
 * status line); undefined when the phase needs more than one message.
 */
export function phaseSize(phase: Phase): { blocks: number; text: number } | undefined {
  if (partitionPhase(phase).length !== 1) return undefined;
  let blocks = OVERHEAD_BLOCKS;
  let text = OVERHEAD_TEXT;
  for (const item of phase.items) {
    const cost = worstCase(item);
    blocks += cost.blocks;
    text += cost.text;
  }
  return { blocks, text };
}

const WORST_ID = 'd'.repeat(16);
const WORST_USER = 'U'.padEnd(12, '0');
const worstCache = new WeakMap<Item, { blocks: number; text: number }>();
/**
 * By content too: every deployment has its own filled copy of the checklist, so many deployments of one
 * checklist would each render every item 24 ways when their phases open (bench:checks: 500 at once).
 */
const worstByContent = new Map<string, { blocks: number; text: number }>();
const WORST_BY_CONTENT_SIZE = 5_000;

/** An item's largest rendering at the tightest caps, over every state it can be in. */
function worstCase(item: Item): { blocks: number; text: number } {
  const cached = worstCache.get(item);
  if (cached) return cached;
  const content = JSON.stringify(item);
  const same = worstByContent.get(content);
  if (same) {
    worstCache.set(item, same);
    return same;
  }
  const at = 4_102_444_800_000;
  const result = { outcome: 'failed' as const, summary: 'x'.repeat(300), attempts: 3, durationMs: 1, at };
  const states: ItemState[] = [
    { status: 'pending' },
    { status: 'running', run: 99 },
    { status: 'failed', run: 99, result, at },
    { status: 'done', by: WORST_USER, at, reason: 'x'.repeat(1_000), overridden: true, result },
    { status: 'skipped', by: WORST_USER, at, reason: 'x'.repeat(1_000) },
    { status: 'pending', signatures: Array.from({ length: 10 }, () => ({ by: WORST_USER, at })) },
  ];
  let blocks = 0;
  let text = 0;
  for (const state of states) {
    for (const flags of [
      { actionable: true, undo: false, waitingFor: item },
      { actionable: false, undo: true },
    ]) {
      // With and without a traffic strategy: traffic steps render differently in each.
      for (const deployment of [{ id: WORST_ID }, { id: WORST_ID, trafficStrategy: 'canary' }]) {
        const rendered = itemBlocks(deployment, item, state, flags, TIGHT, {});
        blocks = Math.max(blocks, rendered.length);
        text = Math.max(text, blockText(rendered));
      }
    }
  }
  const cost = { blocks, text };
  worstCache.set(item, cost);
  if (worstByContent.size >= WORST_BY_CONTENT_SIZE) worstByContent.clear();
  worstByContent.set(content, cost);
  return cost;
}

/** Characters of every `text` string in the blocks: what Slack's msg_blocks_too_long is about. */
export function blockText(value: unknown): number {
  if (typeof value === 'string') return 0;
  if (Array.isArray(value)) return value.reduce<number>((sum, entry) => sum + blockText(entry), 0);
  if (value === null || typeof value !== 'object') return 0;
  let total = 0;
  for (const [key, child] of Object.entries(value)) {
    total += key === 'text' && typeof child === 'string' ? child.length : blockText(child);
  }
  return total;
}

export function renderPhasePart(
  deployment: Deployment,
  checklist: Checklist,
  phaseIndex: number,
  part: number,
  context: PhaseRenderContext = {},
  /** Block text the part may take (less when it shares a message: a folded card). */
  textBudget = TEXT_BUDGET,
): SlackMessage {
  let message: SlackMessage | undefined;
  for (const caps of LEVELS) {
    message = renderAt(deployment, checklist, phaseIndex, part, caps, context);
    if (blockText(message.blocks) <= textBudget) return message;
  }
  return message as SlackMessage; // TIGHT always fits: partitionPhase sized the part for it
}

function renderAt(
  deployment: Deployment,
  checklist: Checklist,
  phaseIndex: number,
  part: number,
  caps: Caps,
  context: PhaseRenderContext,
): SlackMessage {
  const phase = walkedPhases(checklist)[phaseIndex] as Phase;
  const parts = partitionPhase(phase);
  const items = parts[part] ?? [];
  const phaseState = deployment.phases[phase.id];
  const open = phaseState?.status === 'active';
  const followUp = phase.after !== undefined;
  const rollback = isRollbackPhase(checklist, phase);
  const itemContext: PhaseRenderContext = {
    ...context,
    ...(checklist.four_eyes ? { mayNotSign: deployment.requestedBy } : {}),
    watched: (item) => describeWatch(item, checklist, deployment),
  };
  // A follow-up phase is walked after the deployment completed, a rollback phase after it rolled back;
  // everything else only while it is active.
  const live =
    deployment.status === 'active' ||
    (followUp && open && deployment.status === 'completed') ||
    (rollback && open && deployment.status === 'rolled_back');
  // After a rollback traffic is where the rollback left it: its traffic steps are confirmed by hand.
  const shown = rollback ? { id: deployment.id, timeScale: deployment.timeScale ?? 1 } : deployment;

  const continued = parts.length > 1 ? ` (${part + 1}/${parts.length})` : '';
  const number = rollback ? `↩ R${phaseIndex - checklist.phases.length + 1}` : `${phaseIndex + 1}`;
  const heading = truncate(`${number}. ${phase.title}`, 150 - continued.length) + continued;
  const resolved = phase.items.filter((item) => isResolved(deployment.items[item.id])).length;
  const of = `${resolved}/${phase.items.length} resolved`;

  let status: string;
  if (phaseState?.status === 'completed') {
    status = `✅ *Complete* ${phaseState.completedAt ? slackTime(phaseState.completedAt) : ''} · ${of}`;
  } else if (!live) {
    status = `⏹️ Stopped · ${of}`;
  } else if (followUp) {
    const owners = [
      ...new Set(phase.items.map((item) => ownerRole(item)).filter((role): role is string => !!role)),
    ];
    const who = owners.map((role) => context.mentions?.(role) ?? `*${role}*`).join(' ');
    status = `⏰ *Follow-up due* (T+${formatDuration(phase.after ?? 0)}) · ${of}${who ? ` · ${who}` : ''}`;
  } else if (rollback) {
    status = `↩️ *After the rollback* · ${of}`;
  } else {
    status = `🔵 *Open* · ${of} · phase ${phaseIndex + 1} of ${checklist.phases.length}`;
  }

  const statusBlock: types.SectionBlock = {
    type: 'section',
    block_id: `s|${phase.id}|${part}`,
    text: { type: 'mrkdwn', text: status },
  };
  if (part === 0 && (phase.notes || phase.commands?.length)) {
    statusBlock.accessory = {
      type: 'button',
      action_id: ACTION.phaseDetails,
      text: { type: 'plain_text', text: '📋 Runbook' },
      value: actionValue(deployment.id, phase.id),
    };
  }

  const blocks: Block[] = [
    {
      type: 'header',
      block_id: `h|${phase.id}|${part}`,
      text: { type: 'plain_text', text: heading, emoji: true },
    },
    statusBlock,
  ];
  for (const item of items) {
    const state = deployment.items[item.id] ?? { status: 'pending' };
    // In a step-by-step phase, only the next open step gets buttons.
    const waitingFor = open && !isResolved(state) ? blockedBy(phase, deployment, item.id) : undefined;
    const actionable =
      live &&
      !waitingFor &&
      !isResolved(state) &&
      (open || (phaseState?.status === 'completed' && !item.required));
    const undo = live && open && isResolved(state) && state.by !== 'flightdeck';
    blocks.push(...itemBlocks(shown, item, state, { actionable, undo, waitingFor }, caps, itemContext));
  }
  return { text: `${phase.title}: ${of}`, blocks };
}

function itemBlocks(
  deployment: Pick<Deployment, 'id' | 'trafficStrategy' | 'timeScale'>,
  item: Item,
  state: ItemState,
  flags: { actionable: boolean; undo: boolean; waitingFor?: Item },
  caps: Caps,
  context: PhaseRenderContext,
): Block[] {
  const deploymentId = deployment.id;
  const automatic = automaticStep(deployment, item);
  let text =
    item.kind === 'check'
      ? checkText(item, state, caps, context)
      : automatic
        ? stepText(item, state, caps, deployment.timeScale ?? 1, context)
        : itemText(item, state, caps, context);
  if (flags.waitingFor)
    text += `\n_after “${escapeText(truncate(flags.waitingFor.title, Math.min(100, caps.title)))}”_`;
  const section: types.SectionBlock = {
    type: 'section',
    block_id: `i|${item.id}`,
    text: { type: 'mrkdwn', text },
  };
  const value = actionValue(deploymentId, item.id);
  if (item.kind === 'check') {
    // One block per check, so a phase of 40 checks stays one message; failures also get a threaded
    // reply with Re-run and Override… buttons.
    if (flags.actionable || state.status === 'failed' || state.status === 'error' || isResolved(state)) {
      section.accessory = checkMenu(deploymentId, item, state, flags.actionable);
    }
    return [section];
  }
  if (flags.undo) {
    section.accessory = {
      type: 'button',
      action_id: ACTION.itemReopen,
      text: { type: 'plain_text', text: 'Undo' },
      value,
    };
  }
  return flags.actionable ? [section, itemButtons(deploymentId, item, automatic, state)] : [section];
}

/**
 * A watch window that ran out says only what it could see: which watched triggers fired, and which it
 * was too short to judge (their window is longer than the watch) — never "no trigger fired" for those.
 */
function describeWatch(
  item: Extract<Item, { kind: 'wait' }>,
  checklist: Checklist,
  deployment: Pick<Deployment, 'timeScale' | 'firedGuards'>,
): string {
  if ((checklist.rollback?.triggers.length ?? 0) === 0) return 'watched (no rollback triggers to watch)';
  const verdict = watchVerdict(item, checklist, deployment.timeScale ?? 1, deployment.firedGuards);
  const names = (triggers: Trigger[]) =>
    triggers.map((trigger) => `“${escapeText(truncate(trigger.title, 80))}”`).join(', ');
  const parts = [verdict.fired.length > 0 ? `${names(verdict.fired)} fired` : 'no rollback trigger fired'];
  if (verdict.tooShortFor.length > 0)
    parts.push(`too short to judge ${names(verdict.tooShortFor)} (their window is longer than the watch)`);
  return `watched — ${parts.join('; ')}`;
}

/** Traffic steps (when the service has a traffic strategy) and watch windows are carried out by Flightdeck. */
function automaticStep(deployment: Pick<Deployment, 'trafficStrategy'>, item: Item): boolean {
  return item.kind === 'wait' || (item.kind === 'traffic' && deployment.trafficStrategy !== undefined);
}

/** A traffic step or watch window: what it does, and where it stands (shifting, watching until…, done). */
function stepText(
  item: Item,
  state: ItemState,
  caps: Caps,
  scale: number,
  context: PhaseRenderContext,
): string {
  const spec = escapeText(truncate(describeItemSpec(item) ?? '', caps.spec));
  const result = state.result ? escapeText(truncate(state.result.summary, caps.spec)) : '';
  switch (state.status) {
    case 'running':
      if (item.kind === 'wait') {
        const until =
          state.at !== undefined
            ? ` until ${slackTime(state.at + Math.round(item.wait.duration * scale))}`
            : '';
        return `${titleLine(item, state, caps, '⏱️')} — watching${until}\n_${spec}_`;
      }
      return `${titleLine(item, state, caps, '⏳')} — shifting…\n_${spec}_`;
    case 'failed':
      return `${titleLine(item, state, caps)}\n${result} ❌${state.at ? ` · ${slackTime(state.at)}` : ''}`;
    case 'done': {
      const by =
        state.by === 'flightdeck' ? 'completed by Flightdeck' : `by ${mention(state.by ?? 'flightdeck')}`;
      const what = item.kind === 'wait' ? (context.watched?.(item) ?? 'watched') : result;
      return `${titleLine(item, state, caps)}\n${what} · ${by}${state.at ? ` · ${slackTime(state.at)}` : ''}`;
    }
    default: {
      const text = itemText(item, state, caps, context);
      // A step passed over by hand leaves traffic where it was: the row says so, not only the report.
      return item.kind === 'traffic' && (state.status === 'skipped' || state.status === 'n/a')
        ? `${text}\n_traffic not moved by this step_`
        : text;
    }
  }
}

function itemText(item: Item, state: ItemState, caps: Caps, context: PhaseRenderContext): string {
  const mentionsOf = (role: string, except?: ReadonlySet<string>) =>
    truncate(context.mentions?.(role, except) || `*${role}*`, 300);
  const lines = [titleLine(item, state, caps)];
  const meta: string[] = [];
  const role = ownerRole(item);
  if (role && item.kind !== 'signoff') meta.push(`owner: ${role}`);
  const spec = describeItemSpec(item);
  if (spec) meta.push(escapeText(truncate(spec, caps.spec)));
  if (meta.length > 0) lines.push(`_${meta.join(' · ')}_`);
  if (item.kind === 'signoff') {
    const signatures = state.signatures ?? [];
    const names = signatures
      .map((signature) => `${mention(signature.by)} ${slackTime(signature.at)}`)
      .join(', ');
    const missing = item.signoff.count - signatures.length;
    if (signatures.length > 0) lines.push(`✍️ ${signatures.length} of ${item.signoff.count} signed: ${names}`);
    // Who is still needed: the role's people who have not signed and may sign (four eyes).
    const cannotSign = new Set(signatures.map((signature) => signature.by));
    if (context.mayNotSign) cannotSign.add(context.mayNotSign);
    if (missing > 0 && !isResolved(state))
      lines.push(`_needs ${missing} more from_ ${mentionsOf(item.signoff.role, cannotSign)}`);
  }
  const resolution = describeResolution(state, caps);
  if (resolution && !(item.kind === 'signoff' && state.status === 'done')) lines.push(resolution);
  return lines.join('\n');
}

/** A check row: what it measured against its threshold (or what it will check), and its live state. */
function checkText(
  item: Extract<Item, { kind: 'check' }>,
  state: ItemState,
  caps: Caps,
  context: PhaseRenderContext,
): string {
  const spec = escapeText(truncate(describeItemSpec(item) ?? '', caps.spec));
  const result = state.result;
  const when = result ? ` · ${slackTime(result.at)}` : '';
  const attempts = result && result.attempts > 1 ? ` · ${result.attempts} attempts` : '';
  const owner = ownerRole(item);
  const ownerText = owner ? ` · owner: ${owner}` : '';
  const measured = result ? escapeText(truncate(result.summary, caps.spec)) : '';
  switch (state.status) {
    case 'pending':
      return `${titleLine(item, state, caps)}\n_${spec}${ownerText}_`;
    case 'running': {
      const started = context.startedChecks?.[item.id] === state.run;
      const label = started ? '🔄 running…' : '⏳ queued';
      const last = result ? `\nlast run: ${measured} ${OUTCOME_MARK[result.outcome]}` : '';
      return `${titleLine(item, { ...state, status: started ? 'running' : 'pending' }, caps, started ? '🔄' : '⏳')} — ${label}\n_${spec}${ownerText}_${last}`;
    }
    case 'passed':
      return `${titleLine(item, state, caps)}\n${measured} ✅${when}${attempts}`;
    case 'failed':
      return `${titleLine(item, state, caps)}\n${measured} ❌${when}${attempts}${ownerText}`;
    case 'error':
      return `${titleLine(item, state, caps)}\ncould not evaluate: ${measured}${when}${attempts}${ownerText}`;
    default: {
      // Done by override, skipped or n/a: say who and why, and what the check last showed.
      const lines = [titleLine(item, state, caps), describeResolution(state, caps) ?? ''];
      if (result) lines.push(`_last run: ${measured} ${OUTCOME_MARK[result.outcome]}_`);
      return lines.filter(Boolean).join('\n');
    }
  }
}

const OUTCOME_MARK = { passed: '✅', failed: '❌', error: '⚠️' } as const;

function titleLine(item: Item, state: ItemState, caps: Caps, emoji = ITEM_EMOJI[state.status]): string {
  const title = escapeText(truncate(item.title, caps.title));
  const mark = state.overridden ? '☑️' : emoji;
  return `${mark} *${title}*${item.required ? '' : ' _(optional)_'}`;
}

function describeResolution(state: ItemState, caps: Caps): string | undefined {
  if (state.status === 'pending' || state.status === 'running' || !state.by) return undefined;
  const when = state.at ? ` · ${slackTime(state.at)}` : '';
  let reason = '';
  if (state.reason)
    reason =
      caps.reason > 0 ? `: “${escapeText(truncate(state.reason, caps.reason))}”` : ' (reason in Details)';
  const verb = state.waived
    ? 'waived (not signed)'
    : state.overridden
      ? 'overridden'
      : state.status === 'n/a'
        ? 'marked n/a'
        : state.status;
  return `${verb} by ${mention(state.by)}${when}${reason}`;
}

/** Re-run / Override… / Details in an overflow menu (Slack wants 2–5 options), or a lone Details button. */
function checkMenu(
  deploymentId: string,
  item: Item,
  state: ItemState,
  actionable: boolean,
): types.Overflow | types.Button {
  if (!actionable) {
    return {
      type: 'button',
      action_id: ACTION.itemDetails,
      text: { type: 'plain_text', text: 'Details' },
      value: actionValue(deploymentId, item.id),
    };
  }
  const option = (label: string, verb: string): types.PlainTextOption => ({
    text: { type: 'plain_text', text: label },
    value: `${verb}|${deploymentId}|${item.id}`,
  });
  const options: types.PlainTextOption[] = [];
  if (state.status !== 'running') options.push(option('↻ Re-run', 'rerun'));
  options.push(option('Override…', 'override'), option('Details', 'details'));
  return { type: 'overflow', action_id: ACTION.checkMenu, options };
}

function itemButtons(
  deploymentId: string,
  item: Item,
  automatic: boolean,
  state: ItemState,
): types.ActionsBlock {
  const value = actionValue(deploymentId, item.id);
  if (automatic) return { type: 'actions', block_id: `a|${item.id}`, elements: stepButtons(value, item) };
  const withdraw: types.Button[] =
    item.kind === 'signoff' && (state.signatures?.length ?? 0) > 0
      ? [
          {
            type: 'button',
            action_id: ACTION.itemWithdraw,
            text: { type: 'plain_text', text: 'Withdraw' },
            value,
          },
        ]
      : [];
  const elements: types.Button[] = [
    {
      type: 'button',
      action_id: ACTION.itemDone,
      text: { type: 'plain_text', text: item.kind === 'signoff' ? '✍️ Sign off' : '✓ Done' },
      style: 'primary',
      value,
    },
  ];
  // A sign-off is skipped only as a waiver by its `waivable_by` role (Skip… opens the waiver); a traffic
  // step done by hand is skipped with a reason, never marked n/a with a tap.
  if (item.kind !== 'signoff' || item.signoff.waivable_by) {
    elements.push({
      type: 'button',
      action_id: ACTION.itemSkip,
      text: { type: 'plain_text', text: item.kind === 'signoff' ? 'Waive…' : 'Skip…' },
      value,
    });
  }
  if (item.kind === 'manual') {
    elements.push({
      type: 'button',
      action_id: ACTION.itemNotApplicable,
      text: { type: 'plain_text', text: 'N/A' },
      value,
      confirm: {
        title: { type: 'plain_text', text: 'Not applicable?' },
        text: {
          type: 'plain_text',
          text: truncate(`Mark “${item.title}” as not applicable to this deployment?`, 300),
        },
        confirm: { type: 'plain_text', text: 'Mark N/A' },
        deny: { type: 'plain_text', text: 'Cancel' },
      },
    });
  }
  if (item.kind !== 'manual' || item.notes || item.commands?.length) {
    elements.push({
      type: 'button',
      action_id: ACTION.itemDetails,
      text: { type: 'plain_text', text: 'Details' },
      value,
    });
  }
  elements.splice(1, 0, ...withdraw);
  return { type: 'actions', block_id: `a|${item.id}`, elements };
}

/** A traffic step gets a Shift button (with a confirmation for full traffic or a slot switch); both get Skip…. */
function stepButtons(value: string, item: Item): types.Button[] {
  const skip: types.Button = {
    type: 'button',
    action_id: ACTION.itemSkip,
    text: { type: 'plain_text', text: 'Skip…' },
    value,
  };
  const details: types.Button = {
    type: 'button',
    action_id: ACTION.itemDetails,
    text: { type: 'plain_text', text: 'Details' },
    value,
  };
  if (item.kind !== 'traffic') return [skip, details];
  const target = item.traffic;
  const label = 'weight' in target ? `🔀 Shift to ${target.weight}%` : `🔀 Switch to ${target.slot}`;
  const risky = 'slot' in target || target.weight === 100;
  const shift: types.Button = {
    type: 'button',
    action_id: ACTION.trafficShift,
    text: { type: 'plain_text', text: label },
    style: 'primary',
    value,
    ...(risky
      ? {
          confirm: {
            title: { type: 'plain_text', text: 'Move all traffic?' },
            text: {
              type: 'plain_text',
              text: truncate(
                `${label.slice(3)}: every user will hit the new version. Rollback triggers keep watching and can still roll back.`,
                300,
              ),
            },
            confirm: { type: 'plain_text', text: 'Shift traffic' },
            deny: { type: 'plain_text', text: 'Cancel' },
          },
        }
      : {}),
  };
  return [shift, skip, details];
}
