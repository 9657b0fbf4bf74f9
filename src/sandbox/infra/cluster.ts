/**
 * The simulated cluster's contents: per catalogue service its Deployment(s) rolled out (ReplicaSets with
 * revisions, Ready pods on Ready nodes), Service with ready EndpointSlices, HPA and Ingresses, as the
 * catalogue's `kubernetes` entries name them.
 */
import type { FileConfig, ServiceConfig } from '../../config/schema.js';
import { REVISION, SERVICE_ANNOTATION, shortHash } from '../kube/controllers.js';
import type { FakeKube } from '../kube/fake-kube.js';
import { parseLabelSelector } from '../kube/selectors.js';
import type { KubeObject } from '../kube/types.js';

export const REPLICAS = 3;
const CANARY_REPLICAS = 1;
export const CONTAINER_PORT = 8080;
const NODES = ['sandbox-node-1', 'sandbox-node-2', 'sandbox-node-3'];

interface Workload {
  /** The Deployment, or undefined for bare pods (a selector without a deployment). */
  deployment?: string;
  /** Labels of its pods (and its selector). */
  labels: Record<string, string>;
  replicas: number;
}

/** What a catalogue entry says runs in the cluster. */
export function workloadsOf(
  name: string,
  service: ServiceConfig,
): {
  workloads: Workload[];
  serviceSelector?: Record<string, string>;
  canaryService?: { name: string; selector: Record<string, string> };
} {
  const k = service.kubernetes;
  const base = selectorLabels(k.selector) ?? { app: name };
  const deployment = k.deployment;
  if (!deployment) return { workloads: [{ labels: base, replicas: REPLICAS }], serviceSelector: base };
  const slot = /-(blue|green)$/.exec(deployment)?.[1];
  if (slot) {
    // Blue-green: the slot being deployed and the live one, which the Service selects until the switch.
    const live = slot === 'green' ? 'blue' : 'green';
    return {
      workloads: [
        { deployment, labels: { ...base, slot }, replicas: REPLICAS },
        {
          deployment: deployment.replace(/-(blue|green)$/, `-${live}`),
          labels: { ...base, slot: live },
          replicas: REPLICAS,
        },
      ],
      serviceSelector: { ...base, slot: live },
    };
  }
  if (k.stable_deployment) {
    const canary = { ...base, track: 'canary' };
    const stable = { ...base, track: 'stable' };
    return {
      workloads: [
        { deployment, labels: canary, replicas: CANARY_REPLICAS },
        { deployment: k.stable_deployment, labels: stable, replicas: REPLICAS },
      ],
      serviceSelector: stable,
      ...(k.canary_ingress ? { canaryService: { name: deployment, selector: canary } } : {}),
    };
  }
  return { workloads: [{ deployment, labels: base, replicas: REPLICAS }], serviceSelector: base };
}

/** `app=web,tier=api` as labels; set-based terms cannot be turned into labels and are left out. */
function selectorLabels(selector: string | undefined): Record<string, string> | undefined {
  if (!selector) return undefined;
  const labels: Record<string, string> = {};
  for (const requirement of parseLabelSelector(selector))
    if (requirement.operator === 'in' && requirement.values.length === 1)
      labels[requirement.key] = requirement.values[0]!;
  return Object.keys(labels).length > 0 ? labels : undefined;
}

export function seedCluster(kube: FakeKube, file: FileConfig): void {
  const created = new Date(Date.now() - 24 * 60 * 60 * 1_000).toISOString().replace(/\.\d+Z$/, 'Z');
  NODES.forEach((node, index) => {
    kube.put({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: node, labels: { 'kubernetes.io/hostname': node, 'kubernetes.io/os': 'linux' } },
      spec: {},
      status: {
        conditions: [
          { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory' },
          { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure' },
          { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID' },
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
          },
        ],
        addresses: [{ type: 'InternalIP', address: `10.0.0.${index + 10}` }],
        capacity: { cpu: '4', memory: '16Gi', pods: '110' },
        allocatable: { cpu: '4', memory: '15Gi', pods: '110' },
        nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Flightdeck sandbox', architecture: 'amd64' },
      },
    });
  });
  let podIndex = 0;
  const namespaces = new Set(Object.values(file.services).map((service) => service.namespace));
  for (const namespace of namespaces)
    kube.put({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace, labels: { 'kubernetes.io/metadata.name': namespace } },
      status: { phase: 'Active' },
    });

  for (const [name, service] of Object.entries(file.services)) {
    const { namespace } = service;
    const { workloads, serviceSelector, canaryService } = workloadsOf(name, service);
    const podsByLabels: KubeObject[] = [];
    for (const workload of workloads) {
      const podLabels = (hash?: string) => ({
        ...workload.labels,
        ...(hash ? { 'pod-template-hash': hash } : {}),
      });
      const podSpec = (image: string) => ({
        containers: [{ name, image, ports: [{ name: 'http', containerPort: CONTAINER_PORT }] }],
      });
      const podTemplate = (image: string, hash?: string) => ({
        metadata: { labels: podLabels(hash) },
        spec: podSpec(image),
      });
      let owner: Record<string, unknown> | undefined;
      let prefix = `${name}-`;
      let hash: string | undefined;
      if (workload.deployment) {
        const deployment = kube.put<KubeObject>({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: {
            name: workload.deployment,
            namespace,
            generation: 2,
            labels: workload.labels,
            annotations: { [REVISION]: '2' },
            creationTimestamp: created,
          },
          spec: {
            replicas: workload.replicas,
            selector: { matchLabels: workload.labels },
            template: podTemplate(`${name}:current`),
          },
          status: {
            observedGeneration: 2,
            replicas: workload.replicas,
            updatedReplicas: workload.replicas,
            readyReplicas: workload.replicas,
            availableReplicas: workload.replicas,
            conditions: [
              { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
              { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
            ],
          },
        });
        const deploymentRef = {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: workload.deployment,
          uid: deployment.metadata?.uid,
          controller: true,
          blockOwnerDeletion: true,
        };
        // Two revisions, so a rollback has a previous ReplicaSet to go back to.
        for (const revision of [1, 2]) {
          const image = `${name}:${revision === 2 ? 'current' : 'previous'}`;
          const rsHash = shortHash(`${namespace}/${workload.deployment}/${revision}`, 10);
          const replicas = revision === 2 ? workload.replicas : 0;
          const replicaSet = kube.put<KubeObject>({
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            metadata: {
              name: `${workload.deployment}-${rsHash}`,
              namespace,
              generation: 1,
              labels: { ...workload.labels, 'pod-template-hash': rsHash },
              annotations: { [REVISION]: String(revision) },
              ownerReferences: [deploymentRef],
              creationTimestamp: created,
            },
            spec: {
              replicas,
              selector: { matchLabels: { ...workload.labels, 'pod-template-hash': rsHash } },
              template: podTemplate(image, rsHash),
            },
            status: {
              observedGeneration: 1,
              replicas,
              fullyLabeledReplicas: replicas,
              readyReplicas: replicas,
              availableReplicas: replicas,
            },
          });
          if (revision === 2) {
            hash = rsHash;
            prefix = `${workload.deployment}-${rsHash}-`;
            owner = {
              apiVersion: 'apps/v1',
              kind: 'ReplicaSet',
              name: replicaSet.metadata?.name,
              uid: replicaSet.metadata?.uid,
              controller: true,
              blockOwnerDeletion: true,
            };
          }
        }
      }
      for (let index = 0; index < workload.replicas; index++) {
        const podName = workload.deployment
          ? `${prefix}${shortHash(`${prefix}${index}`, 5)}`
          : `${prefix}${index}`;
        const node = NODES[podIndex % NODES.length]!;
        const ip = `10.244.${Math.floor(podIndex / 250)}.${(podIndex % 250) + 2}`;
        podIndex++;
        podsByLabels.push(
          kube.put({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
              name: podName,
              namespace,
              labels: podLabels(hash),
              annotations: { [SERVICE_ANNOTATION]: name },
              ...(owner ? { ownerReferences: [owner] } : {}),
              creationTimestamp: created,
            },
            spec: { ...podSpec(`${name}:current`), nodeName: node },
            status: {
              phase: 'Running',
              podIP: ip,
              podIPs: [{ ip }],
              hostIP: `10.0.0.${NODES.indexOf(node) + 10}`,
              startTime: created,
              qosClass: 'Burstable',
              conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
                type,
                status: 'True',
                lastTransitionTime: created,
              })),
              containerStatuses: [
                {
                  name,
                  ready: true,
                  started: true,
                  restartCount: 0,
                  image: `${name}:current`,
                  imageID: `sandbox://${name}@sha256:${shortHash(name, 64)}`,
                  containerID: `containerd://${shortHash(podName, 64)}`,
                  state: { running: { startedAt: created } },
                },
              ],
            },
          }),
        );
      }
    }

    const k = service.kubernetes;
    const exposed: Array<{ name: string; selector: Record<string, string> }> = [];
    if (k.service && serviceSelector) exposed.push({ name: k.service, selector: serviceSelector });
    if (canaryService) exposed.push(canaryService);
    for (const { name: serviceName, selector } of exposed) {
      kube.put({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: serviceName, namespace, labels: selectorLabels(k.selector) ?? { app: name } },
        spec: {
          type: 'ClusterIP',
          selector,
          ports: [{ name: 'http', port: 80, targetPort: CONTAINER_PORT, protocol: 'TCP' }],
        },
      });
      const selected = podsByLabels.filter((pod) =>
        Object.entries(selector).every(([key, value]) => pod.metadata?.labels?.[key] === value),
      );
      kube.put({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: `${serviceName}-${shortHash(`${namespace}/${serviceName}`, 5)}`,
          namespace,
          labels: {
            'kubernetes.io/service-name': serviceName,
            'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
          },
        },
        addressType: 'IPv4',
        endpoints: selected.map((pod) => {
          const status = pod.status as { podIP: string };
          return {
            addresses: [status.podIP],
            conditions: { ready: true, serving: true, terminating: false },
            nodeName: (pod.spec as { nodeName: string }).nodeName,
            targetRef: { kind: 'Pod', namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
          };
        }),
        ports: [{ name: 'http', port: CONTAINER_PORT, protocol: 'TCP' }],
      });
    }

    if (k.hpa && k.deployment)
      kube.put({
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: k.hpa, namespace },
        spec: hpaSpec(k.deployment),
        status: { currentReplicas: REPLICAS, desiredReplicas: REPLICAS },
      });

    const host = service.base_url ? new URL(service.base_url).hostname : `${name}.sandbox.local`;
    const ingress = (ingressName: string, backend: string, annotations?: Record<string, string>) =>
      kube.put({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: ingressName, namespace, ...(annotations ? { annotations } : {}) },
        spec: {
          ingressClassName: 'nginx',
          rules: [
            {
              host,
              http: {
                paths: [
                  {
                    path: '/',
                    pathType: 'Prefix',
                    backend: { service: { name: backend, port: { number: 80 } } },
                  },
                ],
              },
            },
          ],
        },
        status: { loadBalancer: { ingress: [{ ip: '127.0.0.1' }] } },
      });
    if (k.ingress && k.service) ingress(k.ingress, k.service);
    if (k.canary_ingress && canaryService)
      ingress(k.canary_ingress, canaryService.name, {
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': '0',
      });
  }
}

export function hpaSpec(deployment: string) {
  return {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment },
    minReplicas: REPLICAS,
    maxReplicas: 10,
    metrics: [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
      },
    ],
  };
}
