import type { BlockAction, ButtonAction, ViewOutput, webApi } from '@slack/bolt';
import type { Checklist } from '../../checklists/schema.js';
import { type Deployment, isTerminal, type Retrospective } from '../../deployments/model.js';
import { freeTextQuestions } from '../../reports/sections/retrospective.js';
import { ACTION, FIELD, VIEW } from '../action-ids.js';
import { allowedOrTold, type SlackContext, tellUser } from '../context.js';
import { truncate } from '../render/format.js';
import type { InteractionRouter } from '../router.js';
import { openModal, readClick } from './item-actions.js';
import { type ModalOrigin, readModalMetadata } from './modals.js';

/**
 * The Retrospective button on the report: a modal for what Flightdeck cannot observe — issues found after
 * the deployment by severity, user impact, and the checklist's own questions (seed 002's lessons learned).
 * Anyone in the thread may fill it in or amend it; the record says who. Submitting records it through the
 * engine, and the report in the thread is re-rendered with the answers.
 */

const MAX_QUESTIONS = 40;
const MAX_COUNT = 100_000;
const ANSWER_MAX = 2_000;
const IMPACT_MAX = 300;

type Values = ViewOutput['state']['values'];
type RetrospectiveAnswers = Omit<Retrospective, 'by' | 'at'>;

export function registerReportActions(app: InteractionRouter, context: SlackContext): void {
  app.action<BlockAction<ButtonAction>>(ACTION.reportRetrospective, async ({ ack, body, action, client }) => {
    await ack();
    const click = readClick(body, action);
    if (!click) return;
    // Asked before the dialog: the same rule as the answers' submission.
    const loaded = await allowedOrTold(client, context, click, (roles) => ({
      type: 'record-retrospective',
      actor: click.user,
      actorRoles: roles,
      retrospective: { issues: { critical: 0, major: 0, minor: 0 }, answers: {} },
      at: Date.now(),
    }));
    if (!loaded) return;
    if (!isTerminal(loaded.state)) {
      await tellUser(client, context, click, 'The retrospective opens once the deployment has ended.');
      return;
    }
    await openModal(client, context, click, retrospectiveModal(loaded.state, loaded.checklist, click));
  });

  app.view(VIEW.retrospective, async ({ ack, view, body, client }) => {
    // Validated from the view alone: nothing slow before the acknowledgement.
    const read = readRetrospective(view.state.values);
    if (!read.ok) {
      await ack({ response_action: 'errors', errors: read.errors });
      return;
    }
    await ack();
    const origin = readModalMetadata(view);
    if (!origin) return;
    const result = await context.deployments.execute(origin.deploymentId, {
      type: 'record-retrospective',
      actor: body.user.id,
      actorRoles: await context.roles.rolesOf(body.user.id),
      retrospective: read.retrospective,
      at: Date.now(),
    });
    if (!result.ok) await tellUser(client, context, { ...origin, user: body.user.id }, result.message);
  });
}

export function retrospectiveModal(
  deployment: Deployment,
  checklist: Checklist,
  origin: ModalOrigin,
): webApi.ViewsOpenArguments['view'] {
  const previous = deployment.retrospective;
  const metadata: ModalOrigin = {
    channel: origin.channel,
    deploymentId: origin.deploymentId,
    target: 'retrospective',
    ...(origin.threadTs ? { threadTs: origin.threadTs } : {}),
  };
  const count = (blockId: string, label: string, value: number | undefined) => ({
    type: 'input' as const,
    block_id: blockId,
    label: { type: 'plain_text' as const, text: label },
    element: {
      type: 'number_input' as const,
      action_id: FIELD.retroInput,
      is_decimal_allowed: false,
      min_value: '0',
      max_value: String(MAX_COUNT),
      initial_value: String(value ?? 0),
    },
  });
  const questions = freeTextQuestions(checklist).slice(0, MAX_QUESTIONS);
  return {
    type: 'modal',
    callback_id: VIEW.retrospective,
    title: { type: 'plain_text', text: 'Retrospective' },
    submit: { type: 'plain_text', text: 'Save' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: JSON.stringify(metadata),
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: truncate(
            `*${deployment.service} ${deployment.version}* (${deployment.status.replace('_', ' ')}). Flightdeck measured the duration, rollback and checks; tell it what it could not see. The answers go into the report${previous ? ` (replacing <@${previous.by}>'s)` : ''}.`,
            3_000,
          ),
        },
      },
      count(FIELD.retroCritical, 'Critical issues after the deployment', previous?.issues.critical),
      count(FIELD.retroMajor, 'Major issues', previous?.issues.major),
      count(FIELD.retroMinor, 'Minor issues', previous?.issues.minor),
      {
        type: 'input',
        block_id: FIELD.retroUserImpact,
        optional: true,
        label: { type: 'plain_text', text: 'User impact (affected users)' },
        element: {
          type: 'plain_text_input',
          action_id: FIELD.retroInput,
          max_length: IMPACT_MAX,
          placeholder: { type: 'plain_text', text: 'e.g. none, or ~2,000 users saw errors for 5 minutes' },
          ...(previous?.userImpact ? { initial_value: previous.userImpact } : {}),
        },
      },
      ...questions.map((question) => {
        const answer = previous?.answers[question.id];
        return {
          type: 'input' as const,
          block_id: `${FIELD.retroQuestionPrefix}${question.id}`,
          optional: true,
          label: { type: 'plain_text' as const, text: truncate(question.title, 2_000) },
          element: {
            type: 'plain_text_input' as const,
            action_id: FIELD.retroInput,
            multiline: true,
            max_length: ANSWER_MAX,
            ...(answer ? { initial_value: truncate(answer, ANSWER_MAX) } : {}),
          },
        };
      }),
    ],
  };
}

/**
 * What the modal holds, checked again on the server (a client may send anything): whole, non-negative
 * counts; answers within their lengths. Errors are keyed by block, as `response_action: errors` wants.
 */
export function readRetrospective(
  values: Values,
): { ok: true; retrospective: RetrospectiveAnswers } | { ok: false; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const text = (blockId: string) => values[blockId]?.[FIELD.retroInput]?.value?.trim() ?? '';
  const count = (blockId: string): number => {
    const raw = text(blockId);
    if (raw === '') return 0;
    if (!/^\d+$/.test(raw) || Number(raw) > MAX_COUNT) {
      errors[blockId] = `Enter a whole number from 0 to ${MAX_COUNT.toLocaleString('en')}.`;
      return 0;
    }
    return Number(raw);
  };
  const issues = {
    critical: count(FIELD.retroCritical),
    major: count(FIELD.retroMajor),
    minor: count(FIELD.retroMinor),
  };
  const userImpact = text(FIELD.retroUserImpact);
  if (userImpact.length > IMPACT_MAX) errors[FIELD.retroUserImpact] = `At most ${IMPACT_MAX} characters.`;
  const answers: Record<string, string> = {};
  // The questions are the modal's own blocks (built from the checklist when it opened).
  const questionBlocks = Object.keys(values)
    .filter((blockId) => blockId.startsWith(FIELD.retroQuestionPrefix))
    .slice(0, MAX_QUESTIONS);
  for (const blockId of questionBlocks) {
    const answer = text(blockId);
    if (answer.length > ANSWER_MAX) errors[blockId] = `At most ${ANSWER_MAX} characters.`;
    else if (answer) answers[blockId.slice(FIELD.retroQuestionPrefix.length)] = answer;
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    retrospective: { issues, ...(userImpact ? { userImpact } : {}), answers },
  };
}
