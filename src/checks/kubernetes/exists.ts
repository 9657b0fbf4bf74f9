import type { KubeClients } from '../../kube/client.js';
import type { CheckResult } from '../types.js';
import { isStatus, ObjectsApi } from './api.js';
import type { Spec } from './spec.js';
import { clip } from './summary.js';

/** `exists`: an object of any served kind exists. */

export async function exists(
  spec: Spec<'exists'>,
  clients: KubeClients,
  namespace: string,
  signal: AbortSignal,
): Promise<CheckResult> {
  const objects = ObjectsApi.forRun(clients.config, signal);
  const resource = await objects.served(spec.api_version, spec.kind);
  const where = resource?.namespaced === false ? '' : ` in ${namespace}`;
  const subject = `${spec.kind} ${spec.name}`;
  if (!resource)
    return {
      outcome: 'failed',
      summary: clip(
        `${subject} not found${where}: the server does not serve ${spec.kind} in ${spec.api_version}`,
      ),
    };
  try {
    await objects.read({
      apiVersion: spec.api_version,
      kind: spec.kind,
      metadata: { name: spec.name, namespace },
    });
    return { outcome: 'passed', summary: clip(`${subject} exists${where}`) };
  } catch (error) {
    if (isStatus(error, 404)) return { outcome: 'failed', summary: clip(`${subject} not found${where}`) };
    throw error;
  }
}
