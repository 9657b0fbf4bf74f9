/**
 * Button clicks as Slack sends them: `block_actions` payloads built from the messages the bot really posted
 * to the fake Slack (the same fields SlackDriver sends; it builds and sends in one step, so the minimal
 * builder lives here). Every click presses "✓ Done" on one pending item; the button must be on the message.
 */

import type { JsonObject } from '../../src/sandbox/slack/block-kit-rules.js';
import { elementsOf } from '../../src/sandbox/slack/block-kit-rules.js';
import type { FakeSlack } from '../../src/sandbox/slack/fake-slack.js';
import { CLICK_ACTION_ID, type ClickFile } from './protocol.js';

export interface ClickTarget {
  channel: string;
  /** The thread message (one part of the phase) that shows the item. */
  messageTs: string;
  threadTs: string;
  deploymentId: string;
  itemId: string;
  user: string;
}

/** Builds click files, sharing each message's encoded JSON between the clicks on it. */
export class ClickBuilder {
  private readonly messages: string[] = [];
  private readonly messageIndex = new Map<string, number>();
  private readonly clicks: ClickFile['clicks'] = [];

  constructor(private readonly slack: FakeSlack) {}

  get size(): number {
    return this.clicks.length;
  }

  add(target: ClickTarget): void {
    const key = `${target.channel}|${target.messageTs}`;
    const stored = this.slack.message(target.channel, target.messageTs);
    if (!stored) throw new Error(`no message ${key} in the fake Slack`);
    const value = `${target.deploymentId}|${target.itemId}`;
    const button = findButton(stored.blocks, `a|${target.itemId}`, value);
    if (!button) throw new Error(`no "${CLICK_ACTION_ID}" button for ${value} on message ${key}`);

    let index = this.messageIndex.get(key);
    if (index === undefined) {
      index = this.messages.length;
      this.messages.push(encodeURIComponent(JSON.stringify(this.slack.messageJson(stored))));
      this.messageIndex.set(key, index);
    }
    const name = this.slack.userName(target.user);
    const payload: JsonObject = {
      type: 'block_actions',
      user: { id: target.user, username: name, name, team_id: this.slack.teamId },
      api_app_id: this.slack.appId,
      token: 'fake-verification-token',
      container: {
        type: 'message',
        message_ts: target.messageTs,
        channel_id: target.channel,
        is_ephemeral: false,
        thread_ts: target.threadTs,
      },
      trigger_id: this.slack.newTriggerId(target.user),
      team: { id: this.slack.teamId, domain: this.slack.teamDomain },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: target.channel, name: this.slack.channelName(target.channel) },
      state: { values: {} },
      response_url: this.slack.newResponseUrl({
        channel: target.channel,
        user: target.user,
        messageTs: target.messageTs,
        threadTs: target.threadTs,
      }),
      actions: [
        {
          type: 'button',
          action_id: button.element.action_id,
          block_id: button.block.block_id,
          text: button.element.text,
          value: button.element.value,
          ...(button.element.style !== undefined ? { style: button.element.style } : {}),
          action_ts: (Date.now() / 1000).toFixed(6),
        },
      ],
    };
    // `{...everything,"message":` — the load process appends the message JSON and the closing brace.
    const head = `${JSON.stringify(payload).slice(0, -1)},"message":`;
    this.clicks.push({ head: encodeURIComponent(head), message: index });
  }

  file(): ClickFile {
    return { messages: this.messages, clicks: this.clicks };
  }
}

function findButton(
  blocks: JsonObject[],
  blockId: string,
  value: string,
): { block: JsonObject; element: JsonObject } | undefined {
  for (const block of blocks) {
    if (block.block_id !== blockId) continue;
    for (const element of elementsOf(block)) {
      if (element.type === 'button' && element.action_id === CLICK_ACTION_ID && element.value === value)
        return { block, element };
    }
  }
  return undefined;
}
