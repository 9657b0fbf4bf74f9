import type { types } from '@slack/bolt';
import type { DeploymentStatus, ItemStatus } from '../../deployments/model.js';

export type Block = types.KnownBlock;

/** A message as chat.postMessage / chat.update take it: blocks, plus text for notifications. */
export interface SlackMessage {
  text: string;
  blocks: Block[];
}

/** Slack's mrkdwn treats &, < and > as control characters. */
export function escapeText(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A time Slack shows in each reader's own time zone. */
export function slackTime(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const fallback = new Date(ms).toISOString().slice(11, 16);
  return `<!date^${seconds}^{time}|${fallback} UTC>`;
}

/** The same to the second, for things seconds apart (reads retried with backoff). */
export function slackTimeWithSeconds(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const fallback = new Date(ms).toISOString().slice(11, 19);
  return `<!date^${seconds}^{time_secs}|${fallback} UTC>`;
}

export function slackDateTime(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${seconds}^{date_short_pretty} {time}|${fallback}>`;
}

export function mention(user: string): string {
  return user === 'flightdeck' ? 'Flightdeck' : `<@${user}>`;
}

export function progressBar(done: number, total: number, width = 12): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `${'▓'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

export const ITEM_EMOJI: Record<ItemStatus, string> = {
  pending: '⬜',
  running: '⏳',
  passed: '✅',
  failed: '❌',
  error: '⚠️',
  done: '✅',
  skipped: '⏭️',
  'n/a': '➖',
};

export const DEPLOYMENT_STATE_LABEL: Record<DeploymentStatus, string> = {
  active: '🟢 In progress',
  paused: '⏸️ Paused',
  completed: '✅ Completed',
  rolled_back: '↩️ Rolled back',
  aborted: '🛑 Aborted',
};

/** `value` of a button: the deployment and the thing acted on, kept short (Slack allows 2,000 chars). */
export function actionValue(deploymentId: string, target: string): string {
  return `${deploymentId}|${target}`;
}

export function parseActionValue(
  value: string | undefined,
): { deploymentId: string; target: string } | undefined {
  if (!value) return undefined;
  const bar = value.indexOf('|');
  if (bar <= 0) return undefined;
  return { deploymentId: value.slice(0, bar), target: value.slice(bar + 1) };
}
