import type { Deployment } from '../../deployments/model.js';
import type { RollbackReport } from '../types.js';
import { describeState } from './traffic.js';

// The rollback, if one was requested: why, by whom or which trigger, from what to what, how long.

export function buildRollback(deployment: Deployment): RollbackReport | undefined {
  const rollback = deployment.rollback;
  if (!rollback) return undefined;
  const from = describeState(rollback.before);
  const to = describeState(rollback.after);
  return {
    requestedAt: rollback.requestedAt,
    requestedBy: rollback.requestedBy,
    reason: rollback.reason,
    ...(rollback.trigger ? { trigger: rollback.trigger } : {}),
    ...(rollback.completedAt !== undefined ? { completedAt: rollback.completedAt } : {}),
    ...(rollback.durationMs !== undefined ? { durationMs: rollback.durationMs } : {}),
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    ...(rollback.error ? { error: rollback.error } : {}),
  };
}
