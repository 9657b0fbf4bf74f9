import type { DeploymentEvent } from '../../deployments/engine.js';
import type { Deployment, TrafficState, TrafficTarget } from '../../deployments/model.js';
import type { TrafficFailure, TrafficReport, TrafficStep } from '../types.js';

// Traffic: the shifts made, the ones that failed, where traffic started and ended.

export function describeTarget(target: TrafficTarget): string {
  return 'weight' in target ? `canary ${target.weight}%` : `${target.slot} slot`;
}

export function describeState(state: TrafficState | undefined): string | undefined {
  return state?.description;
}

export function buildTraffic(
  deployment: Deployment,
  audit: readonly DeploymentEvent[],
  title: (itemId: string) => string,
): TrafficReport {
  const steps: TrafficStep[] = (deployment.traffic?.shifts ?? []).map((shift) => ({
    at: shift.at,
    by: shift.by,
    ...(shift.itemId ? { itemId: shift.itemId, itemTitle: title(shift.itemId) } : {}),
    target: describeTarget(shift.target),
    from: shift.before.description,
    to: shift.after.description,
    durationMs: shift.durationMs,
  }));
  const failures: TrafficFailure[] = audit
    .filter((event) => event.type === 'traffic.failed')
    .map((event) => ({
      at: event.at,
      by: event.actor,
      target: describeTarget(event.target),
      code: event.code,
      message: event.message,
    }));
  const initial = describeState(deployment.traffic?.initial);
  // A change whose outcome is unknown may have moved traffic: the last state read is not claimed as final.
  const final = deployment.operation?.uncertain
    ? 'unknown — a change may have been applied and no read has shown the cluster since'
    : describeState(deployment.traffic?.current);
  return {
    ...(deployment.trafficStrategy ? { strategy: deployment.trafficStrategy } : {}),
    ...(initial ? { initial } : {}),
    ...(final ? { final } : {}),
    steps,
    failures,
    ...(deployment.guardsArmedAt !== undefined ? { newCodeSince: deployment.guardsArmedAt } : {}),
  };
}
