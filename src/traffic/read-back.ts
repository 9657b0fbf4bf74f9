import { runsTemplate } from './rolling.js';
import type { TrafficState } from './types.js';

/**
 * After a write whose outcome was unknown, a later read decides: does what `live()` read show where the
 * operation was going? A slot, a canary weight, or for a rolling rollback the pod template recorded when
 * the deployment started (its revision number changes with the undo; without a template, the image).
 */
export function showsTarget(live: TrafficState, wanted: Omit<TrafficState, 'description'>): boolean {
  if (wanted.slot !== undefined) return live.slot === wanted.slot;
  if (wanted.weight !== undefined) return live.weight === wanted.weight;
  if (wanted.template) return runsTemplate(live, wanted.template);
  if (wanted.image !== undefined) return live.image === wanted.image;
  return wanted.revision !== undefined && live.revision === wanted.revision;
}
