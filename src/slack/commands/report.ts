import { renderReportMarkdown } from '../../reports/markdown.js';
import { buildReport } from '../../reports/report.js';
import type { SlackContext } from '../context.js';
import type { Block } from '../render/format.js';

/** The Markdown report fits one ephemeral: Slack allows 12,000 characters of markdown blocks a message. */
const REPORT_MAX_CHARS = 12_000;

/**
 * `/deploy report [service|id]`: a deployment id, else a service's latest deployment, else (no argument)
 * the latest deployment of the service(s) this channel belongs to. Answered as a markdown block.
 */
export async function report(
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
