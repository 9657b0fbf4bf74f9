import type { Logger } from '../observability/logger.js';
import { serializeError } from '../observability/logger.js';
import type { Change, ChangeListener } from './service.js';
import type { DeploymentStore } from './store.js';

/**
 * Keeps the list of follow-up phases still to open across all deployments (completed ones included), so
 * `/deploy status` can say what is due next. The timers themselves are BullMQ delayed jobs.
 */
export class FollowUpIndex implements ChangeListener {
  constructor(
    private readonly store: DeploymentStore,
    private readonly logger: Logger,
  ) {}

  onChange(change: Change): void {
    const id = change.deployment.id;
    const work: Array<Promise<void>> = [];
    for (const event of change.events) {
      if (event.type === 'phase.scheduled')
        work.push(this.store.noteFollowUpDue(id, event.phaseId, event.dueAt));
      if (event.type === 'phase.opened') work.push(this.store.forgetFollowUp(id, event.phaseId));
    }
    // A deployment rolled back or aborted has no follow-ups left to do.
    if (change.deployment.status === 'rolled_back' || change.deployment.status === 'aborted') {
      for (const [phaseId, phase] of Object.entries(change.deployment.phases)) {
        if (phase.status === 'scheduled') work.push(this.store.forgetFollowUp(id, phaseId));
      }
    }
    void Promise.all(work).catch((error) =>
      this.logger.warn({ deploymentId: id, err: serializeError(error) }, 'follow-up index not updated'),
    );
  }
}
