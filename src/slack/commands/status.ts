import type { webApi } from '@slack/bolt';
import { itemCounts } from '../../deployments/progress.js';
import type { LoadedDeployment } from '../../deployments/store.js';
import { formatDuration } from '../../shared/duration.js';
import { type SlackContext, threadLink } from '../context.js';
import { DEPLOYMENT_STATE_LABEL, escapeText, mention, slackDateTime, truncate } from '../render/format.js';

/** `/deploy status [service]`: active deployments (or one service's latest) and the follow-ups due next. */
export async function status(
  context: SlackContext,
  client: webApi.WebClient,
  serviceName?: string,
): Promise<string> {
  if (serviceName) {
    const service = context.catalogue.services[serviceName];
    if (!service) return `No service "${serviceName}" in flightdeck.yaml.`;
    const id =
      (await context.store.activeFor(serviceName, service.environment)) ??
      (await context.store.history(serviceName, 1))[0];
    if (!id) return `${serviceName} has no deployments yet.`;
    const loaded = await context.store.load(id);
    return loaded
      ? statusLine(loaded, await threadLink(client, context, id))
      : `Deployment \`${id}\` is gone.`;
  }
  const ids = await context.store.activeIds();
  const parts: string[] = [];
  if (ids.length === 0) parts.push('No active deployments.');
  else {
    const lines: string[] = [];
    for (const id of ids.slice(0, 30)) {
      const loaded = await context.store.load(id);
      if (loaded) lines.push(statusLine(loaded, await threadLink(client, context, id)));
    }
    const more = ids.length > 30 ? `\n…and ${ids.length - 30} more` : '';
    parts.push(`*Active deployments (${ids.length})*\n${lines.join('\n')}${more}`);
  }
  const due = await followUpsDue(context, client);
  if (due) parts.push(due);
  return parts.join('\n\n');
}

const FOLLOW_UPS_LISTED = 10;

/** Follow-up phases still to open across services, soonest first, with when each is due. */
async function followUpsDue(context: SlackContext, client: webApi.WebClient): Promise<string | undefined> {
  const due = await context.store.followUpsDue(FOLLOW_UPS_LISTED + 1);
  if (due.length === 0) return undefined;
  const now = Date.now();
  const lines: string[] = [];
  for (const { deploymentId, phaseId, dueAt } of due.slice(0, FOLLOW_UPS_LISTED)) {
    const loaded = await context.store.load(deploymentId);
    if (!loaded) continue;
    const phase = loaded.checklist.phases.find((candidate) => candidate.id === phaseId);
    const link = await threadLink(client, context, deploymentId);
    const when = dueAt <= now ? 'due now' : `due ${slackDateTime(dueAt)} (in ${formatDuration(dueAt - now)})`;
    lines.push(
      `• *${escapeText(loaded.state.service)}* \`${escapeText(loaded.state.version)}\` — ${escapeText(truncate(phase?.title ?? phaseId, 120))} ${when}${link ? ` · <${link}|thread>` : ''}`,
    );
  }
  const more = due.length > FOLLOW_UPS_LISTED ? '\n…and more' : '';
  return `*Follow-ups due next*\n${lines.join('\n')}${more}`;
}

function statusLine({ state, checklist }: LoadedDeployment, link: string | undefined): string {
  const counts = itemCounts(state, checklist);
  const phase = checklist.phases[state.currentPhase];
  const where =
    state.status === 'active' || state.status === 'paused'
      ? ` · phase ${state.currentPhase + 1}/${checklist.phases.length} ${escapeText(phase?.title ?? '')}`
      : '';
  const thread = link ? ` · <${link}|thread>` : '';
  return `• *${escapeText(state.service)}* \`${escapeText(state.version)}\` → ${state.environment} — ${DEPLOYMENT_STATE_LABEL[state.status]}${where} · ${counts.resolved}/${counts.total} items · by ${mention(state.requestedBy)} ${slackDateTime(state.createdAt)}${thread}`;
}
