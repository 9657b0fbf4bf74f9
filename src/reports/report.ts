import { isRollbackPhase, walkedPhases } from '../checklists/phases.js';
import type { Checklist, Item, Phase } from '../checklists/schema.js';
import type { DeploymentEvent } from '../deployments/engine.js';
import type { Deployment } from '../deployments/model.js';
import { countedPhases } from '../deployments/progress.js';
import { trafficShortfall } from '../deployments/traffic-plan.js';
import { buildChecks } from './sections/checks.js';
import { buildEscalations } from './sections/escalations.js';
import { buildItems } from './sections/items.js';
import { buildMetrics } from './sections/metrics.js';
import { followUpReport, phaseReport } from './sections/phases.js';
import { buildRefusals } from './sections/refusals.js';
import { buildRetrospective } from './sections/retrospective.js';
import { buildRollback } from './sections/rollback.js';
import { buildSignoffs } from './sections/signoffs.js';
import { buildTraffic } from './sections/traffic.js';
import { buildTriggers } from './sections/triggers.js';
import { buildVersion } from './sections/version.js';
import type { DeploymentReport } from './types.js';

/**
 * The deployment report as data: what Flightdeck observed from the state and its audit stream, plus what
 * the team told the retrospective. Pure: the Markdown (`markdown.ts`) and the Slack message render it, so
 * the figures are computed once, here: one builder per section in ./sections/, composed below; the
 * shapes are in ./types.ts.
 *
 * The audit stream is what makes it complete (every check run, withdrawn signatures, every escalation
 * chain, rollback triggers that fired and cleared, pauses); without it the report falls back to the state, which
 * keeps only the latest of each.
 */

export function buildReport(
  deployment: Deployment,
  checklist: Checklist,
  events: readonly DeploymentEvent[] | undefined,
  now: number,
): DeploymentReport {
  // Follow-ups may still run after the end: their phases and checks are reported as of now.
  const end = deployment.endedAt ?? now;
  const audit = events ?? [];
  const itemIndex = new Map<string, { item: Item; phase: Phase }>();
  for (const phase of walkedPhases(checklist))
    for (const item of phase.items) itemIndex.set(item.id, { item, phase });
  const title = (itemId: string) => itemIndex.get(itemId)?.item.title ?? itemId;

  const checks = buildChecks(deployment, checklist, audit, events !== undefined);
  const traffic = buildTraffic(deployment, audit, title);
  const rollback = buildRollback(deployment);
  const triggers = buildTriggers(deployment, checklist, audit, now);
  const escalations = buildEscalations(deployment, checklist, audit, title);
  const retrospective = buildRetrospective(deployment, checklist);

  const flow = checklist.phases.filter((phase) => phase.after === undefined);
  // After a rollback its rollback phases are walked, after the end: reported as of now, like follow-ups.
  const afterRollback = countedPhases(deployment, checklist).filter((phase) =>
    isRollbackPhase(checklist, phase),
  );
  const phases = [
    ...flow.map((phase) => phaseReport(deployment, phase, end)),
    ...afterRollback.map((phase) => phaseReport(deployment, phase, now)),
  ];
  const followUps = checklist.phases
    .filter((phase) => phase.after !== undefined)
    .map((phase) => followUpReport(deployment, phase, checks, now));

  const metrics = buildMetrics(deployment, audit, end, now, {
    checks,
    triggers,
    escalations,
    rollback,
    retrospective,
  });

  return {
    id: deployment.id,
    service: deployment.service,
    environment: deployment.environment,
    version: deployment.version,
    checklist: { id: checklist.id, title: checklist.title },
    status: deployment.status,
    requestedBy: deployment.requestedBy,
    startedAt: deployment.createdAt,
    ...(deployment.endedAt !== undefined ? { endedAt: deployment.endedAt } : {}),
    ...(deployment.endedBy !== undefined ? { endedBy: deployment.endedBy } : {}),
    ...(deployment.endReason !== undefined && deployment.status !== 'completed'
      ? { endReason: deployment.endReason }
      : {}),
    asOf: now,
    metrics,
    phases,
    followUps,
    traffic,
    ...(rollback ? { rollback } : {}),
    checks,
    items: buildItems(deployment, checklist),
    signoffs: buildSignoffs(deployment, checklist, audit),
    escalations,
    triggers,
    ...optional('trafficShortfall', trafficShortfall(deployment, checklist)),
    ...optional('versionCheck', buildVersion(checklist, checks)),
    refusals: buildRefusals(audit),
    ...(retrospective ? { retrospective } : {}),
    questions: (checklist.report?.questions ?? []).map(({ id, title }) => ({ id, title })),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
