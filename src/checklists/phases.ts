import type { Checklist, Phase } from './schema.js';

/**
 * Plain helpers over a validated checklist's phases. They live apart from the zod schemas (schema.ts) so
 * the deployment engine, which must stay free of parsing and I/O, can use them with type-only imports of
 * the checklist shapes (biome.json's noRestrictedImports holds the engine to that).
 */

const walked = new WeakMap<Checklist, Phase[]>();

/**
 * The phases a deployment can walk, in one numbering: `phases` (flow and follow-ups) first, then
 * `rollback.phases`, which open once a rollback has finished. A phase's index here is the number its
 * thread message shows; flow indexes equal their place in `phases`. Cached: looked up on every command.
 */
export function walkedPhases(checklist: Checklist): readonly Phase[] {
  let phases = walked.get(checklist);
  if (!phases) {
    phases = [...checklist.phases, ...(checklist.rollback?.phases ?? [])];
    walked.set(checklist, phases);
  }
  return phases;
}

/** Phases walked after a rollback (`rollback.phases`). */
export function isRollbackPhase(checklist: Checklist, phase: Phase): boolean {
  return checklist.rollback?.phases.includes(phase) ?? false;
}

/** Every phase of a checklist with where it lives, for cross-checks and title searches. */
export function allPhases(
  checklist: Checklist,
): Array<{ phase: Phase; section: 'phases' | 'rollback' | 'procedures' }> {
  return [
    ...checklist.phases.map((phase) => ({ phase, section: 'phases' as const })),
    ...(checklist.rollback?.phases ?? []).map((phase) => ({ phase, section: 'rollback' as const })),
    ...checklist.procedures.map((phase) => ({ phase, section: 'procedures' as const })),
  ];
}

/** Every title a runbook line may have become: items, triggers and retrospective questions. */
export function allTitles(checklist: Checklist): string[] {
  return [
    ...allPhases(checklist).flatMap(({ phase }) => phase.items.map((item) => item.title)),
    ...(checklist.rollback?.triggers ?? []).map((trigger) => trigger.title),
    ...(checklist.report?.questions ?? []).map((question) => question.title),
  ];
}
