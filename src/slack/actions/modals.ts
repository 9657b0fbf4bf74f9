import type { SlackViewMiddlewareArgs, ViewOutput, webApi } from '@slack/bolt';
import { FIELD } from '../action-ids.js';
import { truncate } from '../render/format.js';

/** What a modal needs to remember about the click that opened it (kept in `private_metadata`). */
export interface ModalOrigin {
  channel: string;
  threadTs?: string;
  deploymentId: string;
  target: string;
}

/** A modal asking one question: a required reason. Used for Skip and Abort. */
export function reasonModal(options: {
  callbackId: string;
  title: string;
  submit: string;
  prompt: string;
  placeholder: string;
  metadata: ModalOrigin;
  /** Pre-filled reason (e.g. what was typed after `/deploy rollback svc`). */
  initial?: string;
}): webApi.ViewsOpenArguments['view'] {
  const origin: ModalOrigin = {
    channel: options.metadata.channel,
    deploymentId: options.metadata.deploymentId,
    target: options.metadata.target,
    ...(options.metadata.threadTs ? { threadTs: options.metadata.threadTs } : {}),
  };
  return {
    type: 'modal',
    callback_id: options.callbackId,
    title: { type: 'plain_text', text: truncate(options.title, 24) },
    submit: { type: 'plain_text', text: truncate(options.submit, 24) },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: JSON.stringify(origin),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: truncate(options.prompt, 3000) } },
      {
        type: 'input',
        block_id: FIELD.reasonBlock,
        label: { type: 'plain_text', text: 'Reason' },
        element: {
          type: 'plain_text_input',
          action_id: FIELD.reasonInput,
          multiline: true,
          min_length: 3,
          max_length: 1000,
          placeholder: { type: 'plain_text', text: truncate(options.placeholder, 150) },
          ...(options.initial ? { initial_value: truncate(options.initial, 1000) } : {}),
        },
      },
    ],
  };
}

/** The trimmed reason, or undefined when it is too short to mean anything. */
export function readReason(view: ViewOutput): string | undefined {
  const value = view.state.values[FIELD.reasonBlock]?.[FIELD.reasonInput]?.value?.trim();
  return value && value.length >= 3 ? value : undefined;
}

/**
 * Acks a reason modal's submission: without a usable reason the modal stays open with `missing` under the
 * field; otherwise it closes and the reason is returned.
 */
export async function ackReason(
  view: ViewOutput,
  ack: SlackViewMiddlewareArgs['ack'],
  missing: string,
): Promise<string | undefined> {
  const reason = readReason(view);
  if (!reason) {
    await ack({ response_action: 'errors', errors: { [FIELD.reasonBlock]: missing } });
    return undefined;
  }
  await ack();
  return reason;
}

export function readModalMetadata(view: ViewOutput): ModalOrigin | undefined {
  try {
    const origin = JSON.parse(view.private_metadata) as Partial<ModalOrigin>;
    if (!origin.channel || !origin.deploymentId || !origin.target) return undefined;
    return {
      channel: origin.channel,
      deploymentId: origin.deploymentId,
      target: origin.target,
      ...(origin.threadTs ? { threadTs: origin.threadTs } : {}),
    };
  } catch {
    return undefined;
  }
}
