import type { V1Deployment, V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../../kube/client.js';
import type { CheckResult } from '../types.js';
import { isStatus, withSignal } from './api.js';
import type { Spec } from './spec.js';
import { clip, clipDetail } from './summary.js';

/** `rollout-complete`: a Deployment rolled out, as kubectl's DeploymentStatusViewer says it, message for message. */

export async function rolloutComplete(
  spec: Spec<'rollout-complete'>,
  clients: KubeClients,
  namespace: string,
  signal: AbortSignal,
): Promise<CheckResult> {
  let deployment: V1Deployment;
  try {
    deployment = await clients.apps.readNamespacedDeployment(
      { name: spec.deployment, namespace },
      withSignal(signal),
    );
  } catch (error) {
    if (isStatus(error, 404))
      return { outcome: 'failed', summary: clip(`deployment ${spec.deployment} not found in ${namespace}`) };
    throw error;
  }
  const verdict = rolloutStatus(deployment);
  const value = deployment.status?.availableReplicas ?? 0;
  if (verdict.done) return { outcome: 'passed', summary: clip(verdict.message), value, unit: 'number' };
  if (verdict.deadlineExceeded) {
    const condition = deployment.status?.conditions?.find((c) => c.type === 'Progressing');
    return {
      outcome: 'failed',
      summary: clip(verdict.message),
      detail: clipDetail(condition?.message),
      value,
      unit: 'number',
    };
  }
  const warning = await rolloutWarning(clients, deployment, namespace, signal);
  const message = warning ? `${verdict.message} (Warning: ${warning})` : verdict.message;
  return { outcome: 'failed', summary: clip(message), detail: clipDetail(warning), value, unit: 'number' };
}

export interface RolloutVerdict {
  done: boolean;
  deadlineExceeded: boolean;
  message: string;
}

/** kubectl rollout status for a Deployment (polymorphichelpers.DeploymentStatusViewer.Status). */
export function rolloutStatus(deployment: V1Deployment): RolloutVerdict {
  const name = deployment.metadata?.name ?? '';
  const status = deployment.status ?? {};
  const waiting = (message: string): RolloutVerdict => ({ done: false, deadlineExceeded: false, message });
  if ((deployment.metadata?.generation ?? 0) > (status.observedGeneration ?? 0))
    return waiting('Waiting for deployment spec update to be observed...');
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded')
    return {
      done: false,
      deadlineExceeded: true,
      message: `deployment "${name}" exceeded its progress deadline`,
    };
  const updated = status.updatedReplicas ?? 0;
  const desired = deployment.spec?.replicas;
  if (desired !== undefined && updated < desired)
    return waiting(
      `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${desired} new replicas have been updated...`,
    );
  const replicas = status.replicas ?? 0;
  if (replicas > updated)
    return waiting(
      `Waiting for deployment "${name}" rollout to finish: ${replicas - updated} old replicas are pending termination...`,
    );
  const available = status.availableReplicas ?? 0;
  if (available < updated)
    return waiting(
      `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...`,
    );
  return { done: true, deadlineExceeded: false, message: `deployment "${name}" successfully rolled out` };
}

/** kubectl's appendWarning: the first unschedulable pod or container stuck in a bad waiting state. */
async function rolloutWarning(
  clients: KubeClients,
  deployment: V1Deployment,
  namespace: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  const selector = deployment.spec?.selector;
  if (!selector) return undefined;
  let pods: V1Pod[];
  try {
    pods = (
      await clients.core.listNamespacedPod(
        { namespace, labelSelector: selectorString(selector) },
        withSignal(signal),
      )
    ).items;
  } catch {
    return undefined; // kubectl also keeps the plain message when it cannot list pods
  }
  const bad = [
    'ImagePullBackOff',
    'ErrImagePull',
    'CrashLoopBackOff',
    'CreateContainerConfigError',
    'CreateContainerError',
  ];
  for (const pod of pods) {
    for (const condition of pod.status?.conditions ?? []) {
      if (
        condition.type === 'PodScheduled' &&
        condition.status === 'False' &&
        condition.reason === 'Unschedulable'
      )
        return condition.message ?? 'Unschedulable';
    }
    for (const container of pod.status?.containerStatuses ?? []) {
      const waiting = container.state?.waiting;
      if (waiting?.reason && bad.includes(waiting.reason))
        return `${waiting.reason} - ${waiting.message ?? ''}`.trim();
    }
  }
  return undefined;
}

/** A LabelSelector as the string `labelSelector=` takes (`app=web,tier in (a,b),!canary`). */
export function selectorString(selector: V1LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const expression of selector.matchExpressions ?? []) {
    const values = (expression.values ?? []).join(',');
    if (expression.operator === 'In') parts.push(`${expression.key} in (${values})`);
    else if (expression.operator === 'NotIn') parts.push(`${expression.key} notin (${values})`);
    else if (expression.operator === 'Exists') parts.push(expression.key);
    else if (expression.operator === 'DoesNotExist') parts.push(`!${expression.key}`);
  }
  return parts.join(',');
}
