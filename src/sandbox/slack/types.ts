/** What the Slack emulator records and answers with: messages, ephemerals, views, calls, responses. */
import type { JsonObject } from './block-kit-rules.js';
import type { FakeSlackLimits } from './pace.js';

export interface FakeSlackOptions {
  botToken: string;
  /** Channel ids (name defaults to the id in lower case) or `{ id, name }`. */
  channels?: (string | { id: string; name?: string; isPrivate?: boolean })[];
  users?: Record<string, { name: string; realName?: string; isBot?: boolean; tz?: string }>;
  /** Usergroup id -> member user ids. */
  usergroups?: Record<string, string[]>;
  teamId?: string;
  teamDomain?: string;
  botUserId?: string;
  botId?: string;
  appId?: string;
  /** Characters of block text over which chat.* answers `msg_blocks_too_long` (default ~13k). */
  maxBlockTextChars?: number;
  /** Trigger id lifetime (Slack: 3 s). */
  triggerTtlMs?: number;
  /** response_url lifetime and uses (Slack: 30 minutes, 5 uses). */
  responseUrlTtlMs?: number;
  responseUrlMaxUses?: number;
  /** Slack's pace, answered with 429 + Retry-After when exceeded; none unless given (see SLACK_LIMITS). */
  limits?: FakeSlackLimits;
}

/** Slack message metadata (chat.postMessage `metadata`), returned with `include_all_metadata`. */
export interface MessageMetadata {
  event_type: string;
  event_payload: JsonObject;
}

export interface FakeCall {
  method: string;
  /** Arguments as the bot sent them, with `blocks`, `attachments` and `view` parsed back to objects. */
  args: JsonObject;
  at: number;
  status: number;
  ok: boolean;
  error?: string;
}

export interface MessageVersion {
  text: string;
  blocks: JsonObject[];
  attachments?: unknown[];
  at: number;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks: JsonObject[];
  attachments?: unknown[];
  user: string;
  /** Set on the bot's messages; a person's own message (`postAsUser`) has none. */
  bot_id?: string;
  metadata?: MessageMetadata;
  reply_broadcast: boolean;
  /** How many times chat.update (or a replace_original) changed it. */
  updates: number;
  /** Earlier versions, oldest first; the current content is not in here. */
  history: MessageVersion[];
  deleted: boolean;
  postedAt: number;
}

export interface FakeEphemeral {
  channel: string;
  user: string;
  text: string;
  blocks: JsonObject[];
  thread_ts?: string;
  message_ts: string;
  via: 'chat.postEphemeral' | 'response_url' | 'command_response';
}

export interface FakeView {
  id: string;
  trigger_id: string;
  user: string;
  /** The view as the bot last sent it (views.open / views.update / response_action update). */
  view: JsonObject;
  hash: string;
  state: 'open' | 'closed';
  updates: number;
}

export interface FakeResponse {
  url: string;
  body: unknown;
  status: number;
  /** What Slack answered with, e.g. `ok`, `used_url`, `expired_url`, `invalid_blocks`. */
  result: string;
  at: number;
}

/** What changed in the workspace, for watchers (the sandbox page's live updates). */
export type FakeSlackChange =
  | { type: 'message'; message: FakeMessage }
  | { type: 'ephemeral'; ephemeral: FakeEphemeral }
  | { type: 'view'; view: FakeView };

/** Where a response_url points: the channel, the user who acted, and the message acted on (if any). */
export interface ResponseContext {
  channel?: string;
  user?: string;
  messageTs?: string;
  threadTs?: string;
}

/** What becomes of the answer to a call that was carried out. */
export type LostAnswer = 'http-500' | 'connection-closed';
