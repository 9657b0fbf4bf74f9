import { walkedPhases } from '../../checklists/phases.js';
import type { Checklist } from '../../checklists/schema.js';
import type { DeploymentEvent } from '../../deployments/engine.js';
import type { Deployment } from '../../deployments/model.js';
import type { EscalationReport } from '../types.js';

// Escalation chains that reached a level: what waited, who was called, who answered.

export function escalationSubject(
  checklist: Checklist,
  key: string,
  title: (itemId: string) => string,
): string {
  const colon = key.indexOf(':');
  const kind = colon < 0 ? key : key.slice(0, colon);
  const id = colon < 0 ? '' : key.slice(colon + 1);
  if (kind === 'phase') {
    const phase = walkedPhases(checklist).find((candidate) => candidate.id === id);
    return `“${phase?.title ?? id}” waited for people`;
  }
  if (kind === 'check') return `check “${title(id)}” failed and nobody re-ran or overrode it`;
  const trigger = checklist.rollback?.triggers.find((candidate) => candidate.id === id);
  return `rollback trigger “${trigger?.title ?? id}” fired without automatic rollback`;
}

export function buildEscalations(
  deployment: Deployment,
  checklist: Checklist,
  audit: readonly DeploymentEvent[],
  title: (itemId: string) => string,
): EscalationReport[] {
  const chains = new Map<string, EscalationReport>();
  const chainOf = (key: string, chain: number, startedAt: number) => {
    const id = `${key}#${chain}`;
    let found = chains.get(id);
    if (!found) {
      found = { key, chain, about: escalationSubject(checklist, key, title), startedAt, levels: [] };
      chains.set(id, found);
    }
    return found;
  };
  for (const event of audit) {
    switch (event.type) {
      case 'escalation.started':
        chainOf(event.key, event.chain, event.startedAt);
        break;
      case 'escalation.level':
        chainOf(event.key, event.chain, event.at).levels.push({
          level: event.level,
          at: event.at,
          notify: event.notify,
          page: event.page,
        });
        break;
      case 'escalation.acknowledged':
        chainOf(event.key, event.chain, event.at).acknowledged = { by: event.actor, at: event.at };
        break;
      case 'escalation.resolved':
        chainOf(event.key, event.chain, event.at).resolvedAt = event.at;
        break;
    }
  }
  if (audit.length === 0) {
    for (const [key, state] of Object.entries(deployment.escalations ?? {})) {
      const chain = chainOf(key, state.chain, state.startedAt);
      for (let level = 1; level <= state.level; level++) {
        const config = deployment.escalationLevels?.[level - 1];
        chain.levels.push({
          level,
          at: state.startedAt + (config?.after ?? 0),
          notify: config?.notify ?? 'owner',
          page: config?.page ?? false,
        });
      }
      if (state.acknowledgedBy)
        chain.acknowledged = { by: state.acknowledgedBy, at: state.acknowledgedAt ?? state.startedAt };
      if (state.resolvedAt !== undefined) chain.resolvedAt = state.resolvedAt;
    }
  }
  // Chains that never reached a level were waits answered in time, not escalations.
  return [...chains.values()]
    .filter((chain) => chain.levels.length > 0)
    .sort((a, b) => a.startedAt - b.startedAt);
}
