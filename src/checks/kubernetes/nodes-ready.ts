import type { V1Node } from '@kubernetes/client-node';
import type { KubeClients } from '../../kube/client.js';
import type { CheckResult } from '../types.js';
import { withSignal } from './api.js';
import { clip, DETAIL_MAX, listSummary } from './summary.js';

/** `nodes-ready`: every node of the cluster is Ready (cordoned ones are named). */

export async function nodesReady(clients: KubeClients, signal: AbortSignal): Promise<CheckResult> {
  const { items } = await clients.core.listNode({}, withSignal(signal));
  if (items.length === 0)
    return { outcome: 'failed', summary: 'no nodes in the cluster', value: 0, unit: 'number' };
  const notReady = items.filter((node) => readyCondition(node)?.status !== 'True');
  const cordoned = items.filter((node) => node.spec?.unschedulable).map((node) => node.metadata?.name ?? '?');
  const ready = items.length - notReady.length;
  const counts = `${ready}/${items.length} nodes ready`;
  const cordonNote = cordoned.length > 0 ? ` (${cordoned.length} cordoned: ${cordoned.join(', ')})` : '';
  if (notReady.length === 0)
    return { outcome: 'passed', summary: clip(`${counts}${cordonNote}`), value: ready, unit: 'number' };
  const problems = notReady.map((node) => {
    const condition = readyCondition(node);
    const why = condition ? (condition.reason ?? condition.status) : 'no Ready condition';
    return `${node.metadata?.name ?? '?'} NotReady (${why})`;
  });
  return {
    outcome: 'failed',
    summary: listSummary(`${counts}: `, problems),
    detail: clip(
      [...problems, ...(cordoned.length ? [`cordoned: ${cordoned.join(', ')}`] : [])].join('\n'),
      DETAIL_MAX,
    ),
    value: ready,
    unit: 'number',
  };
}

function readyCondition(node: V1Node) {
  return node.status?.conditions?.find((c) => c.type === 'Ready');
}
