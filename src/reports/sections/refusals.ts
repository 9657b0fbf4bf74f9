import type { DeploymentEvent } from '../../deployments/engine.js';
import type { RefusalRecord } from '../types.js';

/** Steering actions refused (the audit stream's `access.refused`). */
export function buildRefusals(audit: readonly DeploymentEvent[]): RefusalRecord[] {
  return audit.flatMap((event) =>
    event.type === 'access.refused'
      ? [
          {
            at: event.at,
            actor: event.actor,
            action: event.action,
            ...(event.target ? { target: event.target } : {}),
            reason: event.reason,
          },
        ]
      : [],
  );
}
