import type { webApi } from '@slack/bolt';
import { callFailure } from './call-failure.js';

/**
 * Every message Flightdeck posts names its deployment and its key in Slack message metadata, so a post
 * whose outcome is unknown (no answer, or its poster died before Redis heard the ts) can be found in Slack
 * and adopted instead of posted twice. Thread replies are looked for in their thread
 * (conversations.replies); a status card, which has no thread yet, in the channel's history since the
 * deployment started (conversations.history). Both need `channels:history` (`groups:history` in private
 * channels), and are called only after such a fault.
 */

export const MESSAGE_EVENT_TYPE = 'flightdeck_message';

export function messageMetadata(deploymentId: string, key: string) {
  return {
    event_type: MESSAGE_EVENT_TYPE,
    event_payload: { deployment_id: deploymentId, message_key: key },
  };
}

export interface PostedMessageQuery {
  channel: string;
  deploymentId: string;
  key: string;
  /** The card's ts for a thread reply; none for the card itself. */
  threadTs?: string;
  /** When the deployment started (ms): the card is not older than that. */
  since: number;
}

/** `found`: its ts; `absent`: not in Slack; `unknown`: Slack did not answer the lookup. */
export type LookupResult = { found: string } | 'absent' | 'unknown';

/** Pages read at most (200 messages each): a thread, or a channel's history since a deployment started. */
const MAX_PAGES = 10;
/** Slack's clock and ours may disagree a little; the card is looked for from a minute before the start. */
const CLOCK_SKEW_MS = 60_000;
/** 429s waited out per lookup before it counts as unanswered. */
const RATE_LIMITED_TRIES = 3;

interface MessagePage {
  messages?: Array<{ ts?: string; metadata?: { event_type?: string; event_payload?: unknown } }>;
  response_metadata?: { next_cursor?: string };
}

/**
 * Looks for the message in Slack. Slack refusing the lookup (e.g. `missing_scope` on an installation from
 * before the history scopes) throws: the caller decides whether to post without knowing.
 */
export async function findPostedMessage(
  client: webApi.WebClient,
  query: PostedMessageQuery,
): Promise<LookupResult> {
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await readPage(client, query, cursor);
    if (answer === 'unknown') return 'unknown';
    const match = answer.messages?.find((message) => {
      const payload = message.metadata?.event_payload as
        | { deployment_id?: unknown; message_key?: unknown }
        | undefined;
      return (
        message.metadata?.event_type === MESSAGE_EVENT_TYPE &&
        payload?.deployment_id === query.deploymentId &&
        payload?.message_key === query.key
      );
    });
    if (match?.ts) return { found: match.ts };
    cursor = answer.response_metadata?.next_cursor || undefined;
    if (!cursor) return 'absent';
  }
  return 'absent';
}

async function readPage(
  client: webApi.WebClient,
  query: PostedMessageQuery,
  cursor: string | undefined,
): Promise<MessagePage | 'unknown'> {
  const common = {
    channel: query.channel,
    include_all_metadata: true,
    limit: 200,
    ...(cursor ? { cursor } : {}),
  };
  for (let attempt = 1; ; attempt++) {
    try {
      return query.threadTs
        ? await client.conversations.replies({ ...common, ts: query.threadTs })
        : await client.conversations.history({
            ...common,
            oldest: ((query.since - CLOCK_SKEW_MS) / 1_000).toFixed(6),
          });
    } catch (error) {
      const failure = callFailure(error);
      if (failure.kind === 'refused') throw error;
      if (failure.kind === 'unknown' || attempt >= RATE_LIMITED_TRIES) return 'unknown';
      // Only this lookup waits out its Retry-After; posts and updates go on.
      await new Promise((resolve) => setTimeout(resolve, failure.retryAfterMs));
    }
  }
}
