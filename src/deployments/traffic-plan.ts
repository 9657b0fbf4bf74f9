import type { Checklist, Item } from '../checklists/schema.js';
import { type Actor, type Deployment, type ItemStatus, isResolved, type TrafficState } from './model.js';

/**
 * Whether traffic ended where the checklist's traffic steps said it would. The last traffic step of the
 * flow is the plan; what the cluster read back last is where traffic is. A last step skipped or marked n/a,
 * or a read-back that does not show its target, is a shortfall: the card and the report say so in their
 * headline, so a deployment that never moved traffic cannot read as "deployed".
 */

export interface TrafficShortfall {
  itemId: string;
  title: string;
  status: ItemStatus;
  by?: Actor;
  reason?: string;
  /** "traffic not moved (still blue)", "traffic short of the plan (canary 10%, not 50%)". */
  phrase: string;
}

export function trafficShortfall(deployment: Deployment, checklist: Checklist): TrafficShortfall | undefined {
  const last = lastTrafficStep(checklist);
  if (!last) return undefined;
  const state = deployment.items[last.id];
  if (!isResolved(state)) return undefined;
  const current = deployment.traffic?.current;
  const target = last.traffic;
  const reached =
    current === undefined
      ? state?.status === 'done' // no strategy: the team moved it by hand and said so
      : 'slot' in target
        ? current.slot === target.slot
        : current.weight === target.weight;
  if (reached) return undefined;
  const phrase = describeShortfall(deployment.liveAtStart, current, target);
  return {
    itemId: last.id,
    title: last.title,
    status: state?.status ?? 'pending',
    ...(state?.by ? { by: state.by } : {}),
    ...(state?.reason ? { reason: state.reason } : {}),
    phrase,
  };
}

function lastTrafficStep(checklist: Checklist): Extract<Item, { kind: 'traffic' }> | undefined {
  const flow = checklist.phases.filter((phase) => phase.after === undefined);
  for (const phase of [...flow].reverse()) {
    const steps = phase.items.filter((item) => item.kind === 'traffic');
    const step = steps.at(-1);
    if (step) return step;
  }
  return undefined;
}

function describeShortfall(
  start: TrafficState | undefined,
  current: TrafficState | undefined,
  target: Extract<Item, { kind: 'traffic' }>['traffic'],
): string {
  const where = (state: TrafficState | undefined) =>
    state?.slot ?? (state?.weight !== undefined ? `canary ${state.weight}%` : undefined);
  const now = where(current);
  const never = current && start && where(current) === where(start);
  if (now === undefined) return 'traffic not moved by Flightdeck';
  if (never) return `traffic not moved (still ${now})`;
  const wanted = 'slot' in target ? target.slot : `canary ${target.weight}%`;
  return `traffic short of the plan (${now}, not ${wanted})`;
}
