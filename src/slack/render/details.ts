import { stringify } from 'yaml';
import { describeItemSpec } from '../../checklists/describe.js';
import type { Item, Phase } from '../../checklists/schema.js';
import { ownerRole } from '../../deployments/engine.js';
import type { ItemState } from '../../deployments/model.js';
import { type Block, escapeText, mention, type SlackMessage, slackTime, truncate } from './format.js';

/**
 * What the runbook says about an item or a phase — its notes, commands and spec — shown on demand as an
 * ephemeral message, so the thread stays compact.
 */

const SECTION_MAX = 2_900;
const BLOCKS_MAX = 45;

export function renderItemDetails(item: Item, state?: ItemState): SlackMessage {
  const parts = [`*${escapeText(item.title)}*`];
  const facts = [`kind: ${item.kind}`, item.required ? 'required' : 'optional'];
  const role = ownerRole(item);
  if (role) facts.push(`owner: ${role}`);
  parts.push(`_${facts.join(' · ')}_`);
  const spec = describeItemSpec(item);
  if (spec) parts.push(escapeText(spec));
  const sections = [parts.join('\n')];
  const result = state?.result;
  if (result) {
    const lines = [
      `*Last run:* ${result.outcome} — ${escapeText(result.summary)}`,
      `_${result.attempts} attempt${result.attempts === 1 ? '' : 's'} in ${Math.round(result.durationMs)} ms · ${slackTime(result.at)}_`,
    ];
    if (result.detail) lines.push(escapeText(result.detail));
    sections.push(lines.join('\n'));
  }
  if (state?.reason)
    sections.push(
      `*${state.overridden ? 'Overridden' : 'Reason'}* by ${mention(state.by ?? 'flightdeck')}: “${escapeText(state.reason)}”`,
    );
  if (item.notes) sections.push(escapeText(item.notes));
  for (const command of item.commands ?? []) sections.push(codeBlock(command));
  const definition = specDefinition(item);
  if (definition) sections.push(`Spec:\n${codeBlock(definition)}`);
  return toMessage(`Details: ${item.title}`, sections);
}

export function renderPhaseDetails(phase: Phase): SlackMessage {
  const sections = [`*${escapeText(phase.title)}* — runbook`];
  if (phase.notes) sections.push(escapeText(phase.notes));
  for (const command of phase.commands ?? []) sections.push(codeBlock(command));
  if (sections.length === 1) sections.push('_This phase has no notes or commands._');
  return toMessage(`Runbook: ${phase.title}`, sections);
}

function specDefinition(item: Item): string | undefined {
  switch (item.kind) {
    case 'check':
      return stringify(item.check).trim();
    case 'traffic':
      return stringify(item.traffic).trim();
    case 'wait':
      return stringify(item.wait).trim();
    case 'signoff':
      return stringify(item.signoff).trim();
    default:
      return undefined;
  }
}

function codeBlock(text: string): string {
  // Triple backticks inside would end the block early.
  return `\`\`\`${escapeText(text.replaceAll('```', "'''"))}\`\`\``;
}

/** Splits long sections so none passes Slack's 3,000 characters and the message stays under its block cap. */
function toMessage(text: string, sections: string[]): SlackMessage {
  const blocks: Block[] = [];
  for (const section of sections) {
    for (let start = 0; start < section.length && blocks.length < BLOCKS_MAX; start += SECTION_MAX) {
      let chunk = section.slice(start, start + SECTION_MAX);
      // Keep code fences balanced when a long block is cut.
      if (section.startsWith('```') && section.length > SECTION_MAX) {
        chunk = `${start === 0 ? '' : '```'}${chunk}${start + SECTION_MAX < section.length ? '```' : ''}`;
      }
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: chunk } });
    }
  }
  return { text: truncate(text, 150), blocks };
}
