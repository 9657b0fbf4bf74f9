import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../../kube/client.js';
import type { CheckResult } from '../types.js';
import { withSignal } from './api.js';
import type { Spec } from './spec.js';
import { clip, DETAIL_MAX, listSummary, plural } from './summary.js';

/** `pods-ready`: every pod the selector matches is Ready (with the reason kubectl shows for those not). */

export async function podsReady(
  spec: Spec<'pods-ready'>,
  clients: KubeClients,
  namespace: string,
  signal: AbortSignal,
): Promise<CheckResult> {
  const { items } = await clients.core.listNamespacedPod(
    { namespace, labelSelector: spec.selector },
    withSignal(signal),
  );
  if (items.length === 0)
    return {
      outcome: 'failed',
      summary: clip(`no pods match ${spec.selector} in ${namespace}`),
      value: 0,
      unit: 'number',
    };
  const restarts = items.reduce((sum, pod) => sum + restartsOf(pod), 0);
  const notReady = items.filter((pod) => !isPodReady(pod) || pod.metadata?.deletionTimestamp);
  const ready = items.length - notReady.length;
  const counts = `${ready}/${items.length} pods ready`;
  if (notReady.length === 0) {
    return {
      outcome: 'passed',
      summary: restarts > 0 ? `${counts} (${plural(restarts, 'restart')})` : counts,
      value: ready,
      unit: 'number',
    };
  }
  const problems = notReady.map(describePod);
  return {
    outcome: 'failed',
    summary: listSummary(`${counts}: `, problems),
    detail: clip(problems.join('\n'), DETAIL_MAX),
    value: ready,
    unit: 'number',
  };
}

function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function restartsOf(pod: V1Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((sum, c) => sum + (c.restartCount ?? 0), 0);
}

/** `api-7f9c-x2 CrashLoopBackOff (5 restarts)`: the reason kubectl's STATUS column would show. */
function describePod(pod: V1Pod): string {
  const restarts = restartsOf(pod);
  const suffix = restarts > 0 ? ` (${plural(restarts, 'restart')})` : '';
  return `${pod.metadata?.name ?? '?'} ${podReason(pod)}${suffix}`;
}

function podReason(pod: V1Pod): string {
  if (pod.metadata?.deletionTimestamp) return 'Terminating';
  const status = pod.status;
  for (const init of status?.initContainerStatuses ?? []) {
    const reason = init.state?.waiting?.reason ?? init.state?.terminated?.reason;
    if (reason && init.state?.terminated?.exitCode !== 0) return `Init:${reason}`;
  }
  for (const container of status?.containerStatuses ?? []) {
    const reason = container.state?.waiting?.reason ?? container.state?.terminated?.reason;
    if (reason) return reason;
  }
  if (status?.reason) return status.reason;
  if (status?.phase && status.phase !== 'Running') return status.phase;
  return 'not ready';
}
