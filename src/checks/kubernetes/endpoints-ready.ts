import { DiscoveryV1Api, type V1EndpointSlice } from '@kubernetes/client-node';
import type { KubeClients } from '../../kube/client.js';
import type { CheckResult } from '../types.js';
import { isStatus, withSignal } from './api.js';
import type { Spec } from './spec.js';
import { clip, plural } from './summary.js';

/** `endpoints-ready`: a Service has ready endpoints (EndpointSlices, else the v1 Endpoints). */

export async function endpointsReady(
  spec: Spec<'endpoints-ready'>,
  clients: KubeClients,
  namespace: string,
  signal: AbortSignal,
): Promise<CheckResult> {
  const service = spec.service;
  try {
    const found = await clients.core.readNamespacedService({ name: service, namespace }, withSignal(signal));
    if (found.spec?.type === 'ExternalName')
      return {
        outcome: 'failed',
        summary: clip(`service ${service} is an ExternalName service: it has no endpoints`),
      };
  } catch (error) {
    if (isStatus(error, 404))
      return { outcome: 'failed', summary: clip(`service ${service} not found in ${namespace}`) };
    throw error;
  }
  const counted =
    (await countFromSlices(clients, service, namespace, signal)) ??
    (await countFromEndpoints(clients, service, namespace, signal));
  const { ready, notReady } = counted;
  const notReadyNote = notReady > 0 ? ` (${notReady} not ready)` : '';
  if (ready === 0)
    return {
      outcome: 'failed',
      summary: clip(`service ${service}: no ready endpoints${notReadyNote}`),
      value: 0,
      unit: 'number',
    };
  return {
    outcome: 'passed',
    summary: clip(`service ${service}: ${plural(ready, 'ready endpoint')}${notReadyNote}`),
    value: ready,
    unit: 'number',
  };
}

interface EndpointCount {
  ready: number;
  notReady: number;
}

/** EndpointSlices (discovery.k8s.io/v1); undefined when the API is not served or has no slice yet. */
async function countFromSlices(
  clients: KubeClients,
  service: string,
  namespace: string,
  signal: AbortSignal,
): Promise<EndpointCount | undefined> {
  let slices: V1EndpointSlice[];
  try {
    const discovery = clients.config.makeApiClient(DiscoveryV1Api);
    slices = (
      await discovery.listNamespacedEndpointSlice(
        { namespace, labelSelector: `kubernetes.io/service-name=${service}` },
        withSignal(signal),
      )
    ).items;
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
  if (slices.length === 0) return undefined;
  // A dual-stack Service lists each pod once per address family: count pods, not addresses.
  const ready = new Set<string>();
  const notReady = new Set<string>();
  for (const slice of slices) {
    for (const endpoint of slice.endpoints ?? []) {
      const ref = endpoint.targetRef;
      const id = ref?.uid ?? (ref?.name ? `${ref.kind}/${ref.name}` : endpoint.addresses.join(','));
      // The API says a nil `ready` means ready.
      if (endpoint.conditions?.ready === false) notReady.add(id);
      else ready.add(id);
    }
  }
  for (const id of ready) notReady.delete(id);
  return { ready: ready.size, notReady: notReady.size };
}

/** The v1 Endpoints object: clusters without EndpointSlices, or Services whose slices are not there yet. */
async function countFromEndpoints(
  clients: KubeClients,
  service: string,
  namespace: string,
  signal: AbortSignal,
): Promise<EndpointCount> {
  try {
    const endpoints = await clients.core.readNamespacedEndpoints(
      { name: service, namespace },
      withSignal(signal),
    );
    const subsets = endpoints.subsets ?? [];
    return {
      ready: subsets.reduce((sum, s) => sum + (s.addresses?.length ?? 0), 0),
      notReady: subsets.reduce((sum, s) => sum + (s.notReadyAddresses?.length ?? 0), 0),
    };
  } catch (error) {
    if (isStatus(error, 404)) return { ready: 0, notReady: 0 };
    throw error;
  }
}
