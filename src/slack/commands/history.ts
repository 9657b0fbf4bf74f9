import type { webApi } from '@slack/bolt';
import { deploymentDuration } from '../../reports/sections/metrics.js';
import { formatDuration } from '../../shared/duration.js';
import { type SlackContext, threadLink } from '../context.js';
import { DEPLOYMENT_STATE_LABEL, escapeText, mention, slackDateTime } from '../render/format.js';

const HISTORY_LISTED = 10;

/** `/deploy history <service>`: the last deployments with version, outcome, duration, when and who. */
export async function history(
  context: SlackContext,
  client: webApi.WebClient,
  serviceName: string,
): Promise<string> {
  if (!context.catalogue.services[serviceName]) return `No service "${serviceName}" in flightdeck.yaml.`;
  const ids = await context.store.history(serviceName, HISTORY_LISTED);
  if (ids.length === 0) return `${serviceName} has no deployments yet.`;
  const now = Date.now();
  const lines: string[] = [];
  for (const id of ids) {
    const loaded = await context.store.load(id);
    if (!loaded) continue;
    const { state } = loaded;
    const duration = formatDuration(deploymentDuration(state, now));
    const link = await threadLink(client, context, id);
    lines.push(
      `• \`${escapeText(state.version)}\` ${DEPLOYMENT_STATE_LABEL[state.status]} · ${duration}${state.endedAt === undefined ? ' so far' : ''} · ${slackDateTime(state.createdAt)} · by ${mention(state.requestedBy)} · \`${id}\`${link ? ` · <${link}|thread>` : ''}`,
    );
  }
  return `*${escapeText(serviceName)}: last ${lines.length} deployment${lines.length === 1 ? '' : 's'}*\n${lines.join('\n')}\n_\`/deploy report <id>\` for one in full._`;
}
