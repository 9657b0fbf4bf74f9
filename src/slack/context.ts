import type { webApi } from '@slack/bolt';
import type { Command } from '../deployments/engine.js';
import { BOT_ACTOR } from '../deployments/model.js';
import type { Catalogue, DeploymentService } from '../deployments/service.js';
import type { DeploymentStore, LoadedDeployment } from '../deployments/store.js';
import type { Logger } from '../observability/logger.js';
import { serializeError } from '../observability/logger.js';
import type { RoleDirectory } from '../roles/directory.js';
import type { SlackPresenter } from './presenter.js';
import { CARD_KEY } from './render/status-card.js';

/** What every Slack listener gets: the application's parts, wired once at start-up. */
export interface SlackContext {
  deployments: DeploymentService;
  store: DeploymentStore;
  presenter: SlackPresenter;
  roles: RoleDirectory;
  catalogue: Catalogue;
  logger: Logger;
}

/** A link to a deployment's thread, or undefined when Slack cannot give one. */
export async function threadLink(
  client: webApi.WebClient,
  context: SlackContext,
  deploymentId: string,
): Promise<string | undefined> {
  const loaded = await context.store.load(deploymentId);
  const ts = await context.store.message(deploymentId, CARD_KEY);
  if (!loaded || !ts) return undefined;
  try {
    const link = await client.chat.getPermalink({ channel: loaded.state.channel, message_ts: ts });
    return link.permalink;
  } catch (error) {
    context.logger.warn({ deploymentId, err: serializeError(error) }, 'could not get permalink');
    return undefined;
  }
}

/** A private reply to one person, in the thread they clicked in. */
export async function tellUser(
  client: webApi.WebClient,
  context: SlackContext,
  where: { channel: string; user: string; threadTs?: string },
  text: string,
): Promise<void> {
  if (where.user === BOT_ACTOR) return;
  try {
    await client.chat.postEphemeral({
      channel: where.channel,
      user: where.user,
      text,
      ...(where.threadTs ? { thread_ts: where.threadTs } : {}),
    });
  } catch (error) {
    context.logger.warn(
      { channel: where.channel, user: where.user, err: serializeError(error) },
      'could not send ephemeral',
    );
  }
}

/**
 * Asks the engine's rule before a dialog opens, so nobody types a reason only to be refused: the loaded
 * deployment when `command` would be allowed, else undefined after telling the person why (privately;
 * the refusal is audited).
 */
export async function allowedOrTold(
  client: webApi.WebClient,
  context: SlackContext,
  where: { channel: string; user: string; threadTs?: string; deploymentId: string },
  build: (roles: string[]) => Command,
): Promise<LoadedDeployment | undefined> {
  const roles = await context.roles.rolesOf(where.user);
  const verdict = await context.deployments.permitted(where.deploymentId, build(roles));
  if (verdict.ok) return verdict.loaded;
  await tellUser(client, context, where, verdict.message);
  return undefined;
}
