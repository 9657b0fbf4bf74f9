import type { KubeClients } from '../../kube/client.js';
import type { CheckModule } from '../types.js';
import { errorResult } from './api.js';
import { dryRunApply } from './dry-run-apply.js';
import { endpointsReady } from './endpoints-ready.js';
import { exists } from './exists.js';
import { runsImage } from './image.js';
import { nodesReady } from './nodes-ready.js';
import { podsReady } from './pods-ready.js';
import { rolloutComplete } from './rollout.js';
import { clip, messageOf } from './summary.js';

/**
 * Kubernetes checks through the official client: pods ready, a Deployment rolled out (kubectl's
 * rollout-status logic), nodes ready, a Service with ready endpoints, an object exists, the version runs
 * (./image.ts), and manifests accepted by a server-side dry run, one file each here. One attempt per
 * call; the runner adds retries and the timeout.
 *
 * Outcomes: what the cluster says about the target is `passed`/`failed` (a missing object, a pod in
 * CrashLoopBackOff, a manifest the server rejects). What stops us from asking is `error`: no permission
 * (401/403), a 5xx, a timeout, no connection, an unreadable manifest file.
 *
 * Cancellation: the typed APIs take per-call middleware, which puts `context.signal` on the request.
 * `KubernetesObjectApi` ignores per-call middleware, so `exists` and `dry-run-apply` build a per-run
 * instance whose configuration carries it (its discovery cache then lives for one run).
 */

export const kubernetesCheck: CheckModule<'kubernetes'> = async (spec, context) => {
  if (!context.kube) return { outcome: 'error', summary: 'cannot evaluate: no Kubernetes access configured' };
  let clients: KubeClients;
  try {
    clients = await context.kube();
  } catch (error) {
    return { outcome: 'error', summary: clip(`cannot evaluate: ${messageOf(error)}`) };
  }
  const namespace = 'namespace' in spec && spec.namespace ? spec.namespace : context.namespace;
  try {
    switch (spec.check) {
      case 'pods-ready':
        return await podsReady(spec, clients, namespace, context.signal);
      case 'rollout-complete':
        return await rolloutComplete(spec, clients, namespace, context.signal);
      case 'nodes-ready':
        return await nodesReady(clients, context.signal);
      case 'endpoints-ready':
        return await endpointsReady(spec, clients, namespace, context.signal);
      case 'exists':
        return await exists(spec, clients, namespace, context.signal);
      case 'image':
        return await runsImage(spec, clients, namespace, context.signal);
      case 'dry-run-apply':
        return await dryRunApply(spec, clients, namespace, context);
    }
  } catch (error) {
    return errorResult(error, context.signal);
  }
};
