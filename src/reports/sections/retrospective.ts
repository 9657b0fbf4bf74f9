import type { Checklist } from '../../checklists/schema.js';
import type { Deployment } from '../../deployments/model.js';
import type { RetrospectiveReport } from '../types.js';

// The retrospective: what the team told the modal, and which of the checklist's questions it asks.

/**
 * Retrospective questions a checklist may ask that the modal covers with its own fields (the severity
 * counts and user impact), and ones the Deployment Metrics show beside what Flightdeck observed.
 * Matched on the question id's start, as importers derive ids from the seeds' wording.
 */
export function questionRole(
  questionId: string,
): 'issues' | 'user-impact' | 'downtime' | 'performance' | undefined {
  if (questionId.startsWith('post-deployment-issues')) return 'issues';
  if (questionId.startsWith('user-impact')) return 'user-impact';
  if (questionId.startsWith('downtime')) return 'downtime';
  if (questionId.startsWith('performance-impact')) return 'performance';
  return undefined;
}

/** Questions the modal asks as free text: the checklist's, less those its own fields answer. */
export function freeTextQuestions(checklist: Checklist): Array<{ id: string; title: string }> {
  return (checklist.report?.questions ?? []).filter((question) => {
    const role = questionRole(question.id);
    return role !== 'issues' && role !== 'user-impact';
  });
}

export function buildRetrospective(
  deployment: Deployment,
  checklist: Checklist,
): RetrospectiveReport | undefined {
  const retro = deployment.retrospective;
  if (!retro) return undefined;
  const questions = checklist.report?.questions ?? [];
  const known = new Set(questions.map((question) => question.id));
  const answers = [
    ...questions.map((question) => ({ ...question, answer: retro.answers[question.id] ?? '' })),
    // Answers to questions the checklist no longer asks are still the team's words.
    ...Object.entries(retro.answers)
      .filter(([id]) => !known.has(id))
      .map(([id, answer]) => ({ id, title: id, answer })),
  ].filter((entry) => entry.answer.trim() !== '');
  return {
    by: retro.by,
    at: retro.at,
    issues: { ...retro.issues },
    ...(retro.userImpact ? { userImpact: retro.userImpact } : {}),
    answers,
  };
}
