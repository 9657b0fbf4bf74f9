import { walkedPhases } from '../../checklists/phases.js';
import type { Checklist } from '../../checklists/schema.js';
import { type Deployment, isResolved } from '../../deployments/model.js';
import { type Block, escapeText, type SlackMessage, truncate } from './format.js';
import {
  blockText,
  MAX_BLOCKS,
  type PhaseRenderContext,
  phaseSize,
  renderPhasePart,
  TEXT_BUDGET,
} from './phase-message.js';
import { type CardContext, renderStatusCard } from './status-card.js';

/**
 * The status card of a folded thread (a busy channel, see ThreadLayout): the card with the open phase's
 * items and buttons inside it, so a deployment needs one post where a threaded one needs one per phase.
 * Replies (failures, escalations, traffic, rollbacks, the report) still go into the thread.
 */

/** The most blocks a status card has (header, fields, progress, context, actions), the finished phases'
 * line and a divider. */
const CARD_BLOCKS = 7;
/** The most block text the finished phases' line takes. */
const FINISHED_TEXT = 1_000;
/** The most block text a status card takes: its fields, progress lines (each capped), links, and the
 * finished phases' line. */
export const CARD_TEXT = 4_500 + FINISHED_TEXT;

/**
 * Whether a checklist's phases can be shown inside its card: each phase (rollback phases too) fits in one
 * message beside the card, and no follow-up phases (they open after the end, possibly several at once).
 */
export function canFold(checklist: Checklist): boolean {
  if (checklist.phases.some((phase) => phase.after !== undefined)) return false;
  return walkedPhases(checklist).every((phase) => {
    const size = phaseSize(phase);
    return (
      size !== undefined && size.blocks + CARD_BLOCKS <= MAX_BLOCKS && size.text + CARD_TEXT <= TEXT_BUDGET
    );
  });
}

/** The card with every open phase folded in above its buttons (a phase that would not fit is left out). */
export function renderFoldedCard(
  deployment: Deployment,
  checklist: Checklist,
  card: CardContext,
  phase: PhaseRenderContext,
): SlackMessage {
  const message = renderStatusCard(deployment, checklist, card);
  const actions = message.blocks.filter((block) => block.type === 'actions');
  const blocks: Block[] = message.blocks.filter((block) => block.type !== 'actions');
  // What the threaded layout keeps in each phase's message: which phases are behind, and how many of
  // their items were resolved (who did what is in the report).
  const finished = walkedPhases(checklist)
    .filter((phase) => deployment.phases[phase.id]?.status === 'completed')
    .map((phase) => {
      const resolved = phase.items.filter((item) => isResolved(deployment.items[item.id])).length;
      return `✅ ${escapeText(truncate(phase.title, 60))} ${resolved}/${phase.items.length}`;
    });
  if (finished.length > 0)
    blocks.push({
      type: 'context',
      block_id: 'card.finished',
      elements: [{ type: 'mrkdwn', text: truncate(finished.join('  ·  '), FINISHED_TEXT) }],
    });
  walkedPhases(checklist).forEach((candidate, index) => {
    if (deployment.phases[candidate.id]?.status !== 'active') return;
    const budget = TEXT_BUDGET - blockText(blocks);
    const part = renderPhasePart(deployment, checklist, index, 0, phase, budget).blocks;
    if (blocks.length + 1 + part.length + actions.length > MAX_BLOCKS || blockText(part) > budget) return;
    blocks.push({ type: 'divider', block_id: `card.phase.${candidate.id}` }, ...part);
  });
  return { text: message.text, blocks: [...blocks, ...actions] };
}
