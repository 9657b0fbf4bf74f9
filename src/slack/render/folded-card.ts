import { walkedPhases } from '../../checklists/phases.js';
import type { Checklist } from '../../checklists/schema.js';
import type { Deployment } from '../../deployments/model.js';
import type { Block, SlackMessage } from './format.js';
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

/** The most blocks a status card has (header, fields, progress, context, actions) and a divider. */
const CARD_BLOCKS = 6;
/** The most block text a status card takes: its fields, progress lines (each capped) and links. */
export const CARD_TEXT = 4_500;

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
  walkedPhases(checklist).forEach((candidate, index) => {
    if (deployment.phases[candidate.id]?.status !== 'active') return;
    const budget = TEXT_BUDGET - blockText(blocks);
    const part = renderPhasePart(deployment, checklist, index, 0, phase, budget).blocks;
    if (blocks.length + 1 + part.length + actions.length > MAX_BLOCKS || blockText(part) > budget) return;
    blocks.push({ type: 'divider', block_id: `card.phase.${candidate.id}` }, ...part);
  });
  return { text: message.text, blocks: [...blocks, ...actions] };
}
