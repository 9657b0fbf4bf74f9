import type { V1Container, V1ContainerStatus, V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../../kube/client.js';
import type { CheckResult, SpecOf } from '../types.js';
import { isStatus, withSignal } from './api.js';
import { rolloutStatus } from './rollout.js';
import { clip, listSummary } from './summary.js';

/**
 * `image`: the cluster runs the version being deployed, not just a label Flightdeck was given. A
 * Deployment passes when its pod template names an image whose tag (or digest) is the expected one and
 * that template is rolled out; a selector's pods pass when every one of them runs such an image (the
 * digest is read from the kubelet's `imageID`, so `expect: sha256:…` pins what actually runs). By default
 * any container may match, since sidecars run images of their own; `container` names the one that must.
 */

type ImageSpec = Extract<SpecOf<'kubernetes'>, { check: 'image' }>;

/** Where an image reference's tag and digest are: `registry:5000/team/app:2.0.0@sha256:ab…`. */
export function imageParts(reference: string): { tag?: string; digest?: string } {
  const [name = '', digest] = reference.split('@');
  const lastSlash = name.lastIndexOf('/');
  const colon = name.indexOf(':', lastSlash + 1);
  return {
    ...(colon >= 0 ? { tag: name.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

/** Whether `reference` (or, for a digest, the running `imageID`) is the expected tag or digest. */
export function imageMatches(expect: string, reference: string, imageId?: string): boolean {
  const { tag, digest } = imageParts(reference);
  if (tag === expect || digest === expect) return true;
  return imageId !== undefined && imageParts(imageId.replace(/^[a-z-]+:\/\//, '')).digest === expect;
}

export async function runsImage(
  spec: ImageSpec,
  clients: KubeClients,
  namespace: string,
  signal: AbortSignal,
): Promise<CheckResult> {
  return spec.deployment
    ? deploymentImage(spec, spec.deployment, clients, namespace, signal)
    : podImages(spec, spec.selector ?? '', clients, namespace, signal);
}

async function deploymentImage(
  spec: ImageSpec,
  name: string,
  clients: KubeClients,
  namespace: string,
  signal: AbortSignal,
): Promise<CheckResult> {
  let deployment: V1Deployment;
  try {
    deployment = await clients.apps.readNamespacedDeployment({ name, namespace }, withSignal(signal));
  } catch (error) {
    if (isStatus(error, 404))
      return { outcome: 'failed', summary: clip(`deployment ${name} not found in ${namespace}`) };
    throw error;
  }
  const containers = deployment.spec?.template?.spec?.containers ?? [];
  const verdict = pick(spec, containers);
  if (!verdict.ok) return { outcome: 'failed', summary: clip(`deployment ${name} ${verdict.why}`) };
  const rollout = rolloutStatus(deployment);
  if (!rollout.done)
    return {
      outcome: 'failed',
      summary: clip(`deployment ${name} names ${verdict.image}, not rolled out yet: ${rollout.message}`),
    };
  return { outcome: 'passed', summary: clip(`${verdict.image} runs (deployment ${name}, rolled out)`) };
}

async function podImages(
  spec: ImageSpec,
  selector: string,
  clients: KubeClients,
  namespace: string,
  signal: AbortSignal,
): Promise<CheckResult> {
  const { items } = await clients.core.listNamespacedPod(
    { namespace, labelSelector: selector },
    withSignal(signal),
  );
  const pods = items.filter((pod) => !pod.metadata?.deletionTimestamp);
  if (pods.length === 0)
    return { outcome: 'failed', summary: clip(`no pods match ${selector} in ${namespace}`), value: 0 };
  const wrong: string[] = [];
  const images = new Set<string>();
  for (const pod of pods) {
    const verdict = pick(spec, pod.spec?.containers ?? [], statuses(pod));
    if (verdict.ok) images.add(verdict.image);
    else wrong.push(`${pod.metadata?.name ?? '?'} ${verdict.why}`);
  }
  const count = `${pods.length - wrong.length}/${pods.length} pods`;
  if (wrong.length > 0)
    return {
      outcome: 'failed',
      summary: listSummary(`${count} run ${spec.expect}: `, wrong),
      detail: wrong.join('\n').slice(0, 1_000),
      value: pods.length - wrong.length,
      unit: 'number',
    };
  return {
    outcome: 'passed',
    summary: clip(`${[...images].join(', ')} runs in ${count} (${selector})`),
    value: pods.length,
    unit: 'number',
  };
}

function statuses(pod: V1Pod): Map<string, V1ContainerStatus> {
  return new Map((pod.status?.containerStatuses ?? []).map((status) => [status.name, status]));
}

/** The container that must (or may) carry the version, and whether it does. */
function pick(
  spec: ImageSpec,
  containers: V1Container[],
  running = new Map<string, V1ContainerStatus>(),
): { ok: true; image: string } | { ok: false; why: string } {
  const candidates = spec.container
    ? containers.filter((container) => container.name === spec.container)
    : containers;
  if (spec.container && candidates.length === 0)
    return { ok: false, why: `has no container ${spec.container}` };
  const match = candidates.find((container) =>
    imageMatches(spec.expect, container.image ?? '', running.get(container.name)?.imageID),
  );
  if (match) return { ok: true, image: match.image ?? '' };
  const seen = candidates.map((container) => container.image ?? '(no image)').join(', ');
  return { ok: false, why: `runs ${seen || 'no containers'}, not ${spec.expect}` };
}
