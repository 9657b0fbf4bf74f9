import type { Deployment } from '../deployments/model.js';
import type { Change } from '../deployments/service.js';

/**
 * Escalation levels' timers: which level a chain waits for next, and when. They are set on the shared
 * `timers` queue (deployments/timers.ts), beside watch windows and follow-ups.
 */

/** An escalation level is due, counted from the chain's start (`startedAt`, moved on by a pause). */
export interface EscalationTimer {
  kind: 'escalate';
  deploymentId: string;
  key: string;
  chain: number;
  level: number;
  startedAt?: number;
}

/**
 * Cause keys have ':' (`phase:<id>`), which BullMQ job ids may not contain. The chain's start is part of
 * the id: after a pause moves it on, the level gets a new timer instead of the one already spent.
 */
export function escalationJobId(
  deploymentId: string,
  key: string,
  chain: number,
  level: number,
  startedAt?: number,
): string {
  const from = startedAt === undefined ? '' : `.${startedAt}`;
  return `${deploymentId}.escalate.${key.replaceAll(':', '~')}.${chain}.${level}${from}`;
}

/** The timer a running chain needs next (the level after the one it is at), if it still climbs. */
export function nextEscalationTimer(
  deployment: Deployment,
  key: string,
): { job: EscalationTimer; at: number } | undefined {
  const escalation = deployment.escalations?.[key];
  if (!escalation || escalation.resolvedAt !== undefined || escalation.acknowledgedBy) return undefined;
  // Held while paused: resume sets it again.
  if (deployment.status === 'paused') return undefined;
  const next = deployment.escalationLevels?.[escalation.level];
  if (!next) return undefined;
  return {
    job: {
      kind: 'escalate',
      deploymentId: deployment.id,
      key,
      chain: escalation.chain,
      level: escalation.level + 1,
      startedAt: escalation.startedAt,
    },
    // As the engine times them: every level from the chain's start, unscaled.
    at: escalation.startedAt + next.after,
  };
}

/** The escalation timers a change calls for: a chain's first level, then each next one. */
export function escalationTimersFor(change: Change): Array<{ job: EscalationTimer; at: number }> {
  const deploymentId = change.deployment.id;
  return change.events.flatMap((event) => {
    if (event.type === 'escalation.started')
      return [
        {
          job: {
            kind: 'escalate',
            deploymentId,
            key: event.key,
            chain: event.chain,
            level: 1,
            startedAt: event.startedAt,
          } as const,
          at: event.firstAt,
        },
      ];
    if (event.type === 'escalation.level' || event.type === 'escalation.resumed') {
      const next = nextEscalationTimer(change.deployment, event.key);
      return next && next.job.chain === event.chain ? [next] : [];
    }
    return [];
  });
}

/** The timers of chains a change ended (acknowledged, resolved): their remaining levels need not wait. */
export function endedEscalationTimers(change: Change): string[] {
  const { deployment } = change;
  return change.events.flatMap((event) => {
    if (event.type !== 'escalation.acknowledged' && event.type !== 'escalation.resolved') return [];
    const levels = deployment.escalationLevels?.length ?? 0;
    const startedAt = deployment.escalations?.[event.key]?.startedAt;
    return Array.from({ length: levels }, (_, index) =>
      escalationJobId(deployment.id, event.key, event.chain, index + 1, startedAt),
    );
  });
}

/** After a restart and every sweep: each chain still climbing has its next level's timer. */
export function escalationTimersOf(deployment: Deployment): Array<{ job: EscalationTimer; at: number }> {
  return Object.keys(deployment.escalations ?? {}).flatMap((key) => {
    const next = nextEscalationTimer(deployment, key);
    return next ? [next] : [];
  });
}
