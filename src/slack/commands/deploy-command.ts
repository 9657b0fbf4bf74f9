import type { App, RespondFn, webApi } from '@slack/bolt';
import { commandShiftPlan, isDeployer } from '../../deployments/engine.js';
import { BOT_ACTOR } from '../../deployments/model.js';
import { itemCounts } from '../../deployments/progress.js';
import type { LoadedDeployment } from '../../deployments/store.js';
import { serializeError } from '../../observability/logger.js';
import { renderReportMarkdown } from '../../reports/markdown.js';
import { buildReport, deploymentDuration } from '../../reports/report.js';
import { formatDuration } from '../../shared/duration.js';
import { openModal } from '../actions/item-actions.js';
import { askRollback, trafficConfirmModal } from '../actions/operation-actions.js';
import { type SlackContext, threadLink } from '../context.js';
import {
  type Block,
  DEPLOYMENT_STATE_LABEL,
  escapeText,
  mention,
  slackDateTime,
  truncate,
} from '../render/format.js';
import { describeTarget } from '../render/operations.js';
import { type DeployRequest, parseDeployCommand, USAGE } from './parse.js';

/**
 * `/deploy`: parse and answer mistakes inside the acknowledgement (no I/O before `ack()`), then do the
 * slow part — Redis, Slack posts, role lookups — after it.
 */
export function registerDeployCommand(app: App, context: SlackContext): void {
  app.command('/deploy', async ({ command, ack, respond, client }) => {
    const request = parseDeployCommand(command.text);
    switch (request.type) {
      case 'help':
        await ack({ response_type: 'ephemeral', text: USAGE });
        return;
      case 'invalid':
        await ack({ response_type: 'ephemeral', text: `${request.message}\n\n${USAGE}` });
        return;
      case 'start': {
        const resolved = context.deployments.resolveStart(request);
        if (!resolved.ok) {
          await ack({ response_type: 'ephemeral', text: `${resolved.message}\n\n${USAGE}` });
          return;
        }
        await ack({ response_type: 'ephemeral', text: `Starting ${request.service} ${request.version}…` });
        await answering(context, respond, `start ${request.service} ${request.version}`, () =>
          start(context, client, respond, { ...request, actor: command.user_id }),
        );
        return;
      }
      case 'status':
        await ack();
        await answering(context, respond, 'status', async () => {
          await respond({ response_type: 'ephemeral', text: await status(context, client, request.service) });
        });
        return;
      case 'report':
        await ack();
        await answering(context, respond, `report${request.target ? ` ${request.target}` : ''}`, async () => {
          await respond({
            response_type: 'ephemeral',
            ...(await report(context, request.target, command.channel_id)),
          });
        });
        return;
      case 'history':
        await ack();
        await answering(context, respond, `history ${request.service}`, async () => {
          await respond({
            response_type: 'ephemeral',
            text: await history(context, client, request.service),
          });
        });
        return;
      case 'traffic':
      case 'rollback':
      case 'pause':
      case 'resume':
        await ack();
        await answering(context, respond, `${request.type} ${request.service}`, () =>
          operate(context, client, respond, request, {
            user: command.user_id,
            channel: command.channel_id,
            triggerId: command.trigger_id,
          }),
        );
        return;
      case 'abort':
        await ack();
        await answering(context, respond, `abort ${request.service}`, () =>
          abortByCommand(context, respond, command.user_id, request.service, request.reason),
        );
        return;
    }
  });
}

/** Runs the slow part of a command; if it fails (Redis down, Slack error), the person is told, not left waiting. */
async function answering(
  context: SlackContext,
  respond: RespondFn,
  what: string,
  work: () => Promise<void>,
): Promise<void> {
  try {
    await work();
  } catch (error) {
    context.logger.error({ command: what, err: serializeError(error) }, '/deploy failed');
    await respond({
      response_type: 'ephemeral',
      text: `Flightdeck could not finish \`${what}\` (${(error as Error).message}). Check /deploy status before trying again.`,
    }).catch(() => undefined);
  }
}

async function start(
  context: SlackContext,
  client: webApi.WebClient,
  respond: RespondFn,
  request: { service: string; version: string; checklistId?: string; actor: string },
): Promise<void> {
  const service = context.catalogue.services[request.service];
  if (service) {
    // The same rule as every other steering action, with nobody yet the requester.
    const roles = await context.roles.rolesOf(request.actor);
    if (!isDeployer({ requestedBy: '', deployers: service.deployers }, { actor: request.actor, roles })) {
      // No deployment exists to hold the refusal in its audit stream: it goes to the log, as an audit line.
      context.logger.info(
        { audit: 'access.refused', actor: request.actor, action: 'start', service: request.service },
        'refused: start',
      );
      await respond({
        response_type: 'ephemeral',
        text: `Only the *${service.deployers.join('*, *')}* role can start ${request.service} deployments. Nothing was started.`,
      });
      return;
    }
  }
  const result = await context.deployments.start(request);
  if (!result.ok) {
    if (result.code === 'locked') {
      const active = await context.store.load(result.activeId);
      const link = await threadLink(client, context, result.activeId);
      const who = active
        ? ` started by ${mention(active.state.requestedBy)} ${slackDateTime(active.state.createdAt)} (${active.state.version})`
        : '';
      await respond({
        response_type: 'ephemeral',
        text: `${result.message}${who}. ${link ? `<${link}|Open its thread>` : `Deployment \`${result.activeId}\``}. Finish or abort it first.`,
      });
      return;
    }
    await respond({ response_type: 'ephemeral', text: result.message });
    return;
  }

  const posted = await context.presenter.started(result.deployment.id);
  if (!posted.ok) {
    // Without a thread nobody can walk the checklist: undo the start so the lock is free again.
    await context.deployments.execute(result.deployment.id, {
      type: 'abort',
      actor: BOT_ACTOR,
      actorRoles: [],
      reason: `could not post in <#${result.deployment.channel}>: ${posted.error}`,
      at: Date.now(),
    });
    const hint =
      posted.error === 'not_in_channel' || posted.error === 'channel_not_found'
        ? ' Invite the bot with `/invite @Flightdeck` and try again.'
        : '';
    await respond({
      response_type: 'ephemeral',
      text: `Could not post in <#${result.deployment.channel}> (${posted.error}), so nothing was started.${hint}`,
    });
    return;
  }
  const link = await threadLink(client, context, result.deployment.id);
  await respond({
    response_type: 'ephemeral',
    text: `Started ${request.service} ${request.version} (\`${result.deployment.id}\`) in <#${result.deployment.channel}>.${link ? ` <${link}|Open the thread>` : ''}`,
  });
}

async function status(
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

/** The Markdown report fits one ephemeral: Slack allows 12,000 characters of markdown blocks a message. */
const REPORT_MAX_CHARS = 12_000;

/**
 * `/deploy report [service|id]`: a deployment id, else a service's latest deployment, else (no argument)
 * the latest deployment of the service(s) this channel belongs to. Answered as a markdown block.
 */
async function report(
  context: SlackContext,
  target: string | undefined,
  channel: string,
): Promise<{ text: string; blocks?: Block[] }> {
  let id: string | undefined;
  if (target === undefined) {
    const services = Object.entries(context.catalogue.services)
      .filter(([, service]) => service.channel === channel)
      .map(([name]) => name);
    if (services.length === 0)
      return { text: 'No service deploys from this channel. Say which: `/deploy report <service>`.' };
    id = await latestOf(context, services);
    if (!id)
      return { text: `${services.join(', ')} ${services.length === 1 ? 'has' : 'have'} no deployments yet.` };
  } else if (context.catalogue.services[target]) {
    id = (await context.store.history(target, 1))[0];
    if (!id) return { text: `${target} has no deployments yet.` };
  } else {
    id = target;
  }
  const loaded = await context.store.load(id);
  if (!loaded)
    return {
      text: `No service or deployment "${target}". Services: ${Object.keys(context.catalogue.services).sort().join(', ')}.`,
    };
  const audit = await context.store.audit(id);
  const built = buildReport(
    loaded.state,
    loaded.checklist,
    audit.map((entry) => entry.event),
    Date.now(),
  );
  const markdown = renderReportMarkdown(built, { maxChars: REPORT_MAX_CHARS });
  return {
    text: `Deployment report: ${loaded.state.service} ${loaded.state.version} (${id})`,
    blocks: [{ type: 'markdown', text: markdown }],
  };
}

/** The newest deployment across some services (a channel may host several). */
async function latestOf(context: SlackContext, services: string[]): Promise<string | undefined> {
  let best: { id: string; createdAt: number } | undefined;
  for (const service of services) {
    const id = (await context.store.history(service, 1))[0];
    const loaded = id ? await context.store.load(id) : undefined;
    if (id && loaded && (!best || loaded.state.createdAt > best.createdAt))
      best = { id, createdAt: loaded.state.createdAt };
  }
  return best?.id;
}

const HISTORY_LISTED = 10;

/** `/deploy history <service>`: the last deployments with version, outcome, duration, when and who. */
async function history(
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

async function abortByCommand(
  context: SlackContext,
  respond: RespondFn,
  actor: string,
  serviceName: string,
  reason: string,
): Promise<void> {
  const service = context.catalogue.services[serviceName];
  const id = service ? await context.store.activeFor(serviceName, service.environment) : undefined;
  if (!id) {
    await respond({ response_type: 'ephemeral', text: `${serviceName} has no active deployment.` });
    return;
  }
  const roles = await context.roles.rolesOf(actor);
  const result = await context.deployments.execute(id, {
    type: 'abort',
    actor,
    actorRoles: roles,
    reason,
    at: Date.now(),
  });
  await respond({
    response_type: 'ephemeral',
    text: result.ok ? `Aborted ${serviceName} (\`${id}\`).` : result.message,
  });
}

/** `/deploy traffic|rollback|pause|resume <service>`: on the service's active deployment. */
async function operate(
  context: SlackContext,
  client: webApi.WebClient,
  respond: RespondFn,
  request: Extract<DeployRequest, { type: 'traffic' | 'rollback' | 'pause' | 'resume' }>,
  who: { user: string; channel: string; triggerId: string },
): Promise<void> {
  const service = context.catalogue.services[request.service];
  let id = service ? await context.store.activeFor(request.service, service.environment) : undefined;
  if (!id && service && request.type === 'rollback') {
    // After promotion: the service's last deployment, if it completed, can still be rolled back.
    const last = (await context.store.history(request.service, 1))[0];
    const loaded = last ? await context.store.load(last) : undefined;
    if (loaded?.state.status === 'completed') id = last;
  }
  if (!id || !service) {
    await respond({
      response_type: 'ephemeral',
      text: `${request.service} has no ${request.type === 'rollback' ? 'active or just-completed' : 'active'} deployment.`,
    });
    return;
  }
  const click = {
    user: who.user,
    channel: who.channel,
    triggerId: who.triggerId,
    deploymentId: id,
    target: request.type,
  };
  if (request.type === 'rollback') {
    // A modal asks for (or confirms) the reason: a rollback is never one typo away.
    await askRollback(context, client, click, request.reason);
    return;
  }
  const roles = await context.roles.rolesOf(who.user);
  if (request.type === 'traffic') {
    const target = request.target;
    const verdict = await context.deployments.permitted(id, {
      type: 'request-traffic',
      target,
      actor: who.user,
      actorRoles: roles,
      at: Date.now(),
    });
    if (!verdict.ok) {
      await respond({ response_type: 'ephemeral', text: `${verdict.message} Nothing changed.` });
      return;
    }
    // All traffic, a slot switch, or a jump over a watch window not yet watched: asked first, saying what
    // the checklist will show afterwards.
    const plan = commandShiftPlan(verdict.loaded.checklist, verdict.loaded.state, target);
    if ('slot' in target || target.weight === 100 || plan.jumped.length > 0) {
      const origin = {
        channel: who.channel,
        deploymentId: id,
        target: 'slot' in target ? target.slot : String(target.weight),
      };
      await openModal(client, context, click, trafficConfirmModal(origin, request.service, plan));
      return;
    }
  }
  const at = Date.now();
  const result = await context.deployments.execute(
    id,
    request.type === 'traffic'
      ? { type: 'request-traffic', target: request.target, actor: who.user, actorRoles: roles, at }
      : { type: request.type, actor: who.user, actorRoles: roles, at },
  );
  const done =
    request.type === 'traffic'
      ? `Shifting ${request.service} to ${describeTarget(request.target)}; the thread shows the result.`
      : `${request.type === 'pause' ? 'Paused' : 'Resumed'} ${request.service} (\`${id}\`).`;
  await respond({ response_type: 'ephemeral', text: result.ok ? done : result.message });
}
