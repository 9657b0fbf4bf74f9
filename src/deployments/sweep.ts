import type { Logger } from '../observability/logger.js';
import { serializeError } from '../observability/logger.js';
import type { DeploymentStore, LoadedDeployment } from './store.js';

/**
 * A change and the job it calls for (a check to run, a timer, a traffic operation, a trigger schedule, a
 * page) are two writes: a Redis error between them, or a replica dying there, would leave a check
 * "queued" or a chain stuck until some process restarts. So every process re-derives the jobs from the
 * stored state at start and then every so often (flightdeck.ts). A round reads what the effects need
 * once — each open deployment loaded once, not once per effect — and hands the same round to each.
 */

export interface SweepRound {
  /** When the round was read. */
  now: number;
  /** Open deployments. */
  active: LoadedDeployment[];
  /** Completed deployments whose rollback triggers still watch (watch_after_completion); none in `active`. */
  watched: LoadedDeployment[];
  /** Follow-up phases still to open, soonest first, completed deployments' too. */
  followUpsDue: Array<{ deploymentId: string; phaseId: string; dueAt: number }>;
}

/** An effect that re-derives its jobs from a round (see redis/job-queue.ts). */
export interface Reconciler {
  reconcile(round: SweepRound): Promise<unknown>;
}

/** How many follow-ups a round re-derives timers for (soonest first). */
const FOLLOW_UPS_PER_ROUND = 10_000;

export async function readSweepRound(store: DeploymentStore, now: () => number): Promise<SweepRound> {
  const at = now();
  const activeIds = await store.activeIds();
  const open = new Set(activeIds);
  const watchedIds = (await store.watching())
    .filter((entry) => entry.until > at && !open.has(entry.id))
    .map((entry) => entry.id);
  // One at a time, as a background chore: hundreds of loads at once would answer together and hold the
  // event loop while they are parsed, in the middle of the work the sweep is only a safety net for.
  const load = async (ids: string[]) => {
    const loaded: LoadedDeployment[] = [];
    for (const id of ids) {
      const one = await store.load(id);
      if (one) loaded.push(one);
    }
    return loaded;
  };
  const active = await load(activeIds);
  const watched = await load(watchedIds);
  const followUpsDue = await store.followUpsDue(FOLLOW_UPS_PER_ROUND);
  return { now: at, active, watched, followUpsDue };
}

export class Sweeper {
  constructor(
    private readonly store: DeploymentStore,
    private readonly effects: readonly Reconciler[],
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** One round: read once, then each effect adds what is missing. Undefined when the store could not be read. */
  async round(): Promise<SweepRound | undefined> {
    let round: SweepRound;
    try {
      round = await readSweepRound(this.store, this.now);
    } catch (error) {
      this.logger.error({ err: serializeError(error) }, 'queue reconcile failed');
      return undefined;
    }
    for (const effect of this.effects) {
      await effect
        .reconcile(round)
        .catch((error: unknown) =>
          this.logger.error({ err: serializeError(error) }, 'queue reconcile failed'),
        );
    }
    return round;
  }
}
