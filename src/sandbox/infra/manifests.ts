import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ServiceConfig } from '../../config/schema.js';
import type { KubeObject } from '../kube/types.js';
import { CONTAINER_PORT, hpaSpec, REPLICAS, workloadsOf } from './cluster.js';

/**
 * The service's manifests, as a repository would hold them: `deployments/kubernetes/` (namespace,
 * deployment, service, hpa) and the same files at the top level (`deployment.yaml`, `service.yaml`,
 * `hpa.yaml`), each only for what the catalogue names.
 */
export async function writeManifests(dir: string, name: string, service: ServiceConfig): Promise<void> {
  const k = service.kubernetes;
  const { workloads } = workloadsOf(name, service);
  const labels = workloads[0]?.labels ?? { app: name };
  const files: Record<string, KubeObject> = {
    namespace: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: service.namespace } },
  };
  if (k.deployment)
    files.deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: k.deployment, namespace: service.namespace, labels },
      spec: {
        replicas: REPLICAS,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name,
                image: `${name}:next`,
                ports: [{ name: 'http', containerPort: CONTAINER_PORT }],
                resources: {
                  limits: { cpu: '500m', memory: '512Mi' },
                  requests: { cpu: '100m', memory: '128Mi' },
                },
              },
            ],
          },
        },
      },
    };
  if (k.service)
    files.service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: k.service, namespace: service.namespace },
      spec: {
        selector: labels,
        ports: [{ name: 'http', port: 80, targetPort: CONTAINER_PORT, protocol: 'TCP' }],
      },
    };
  if (k.hpa && k.deployment)
    files.hpa = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: k.hpa, namespace: service.namespace },
      spec: hpaSpec(k.deployment),
    };
  await mkdir(join(dir, 'deployments', 'kubernetes'), { recursive: true });
  for (const [file, object] of Object.entries(files)) {
    const text = stringify(object);
    await writeFile(join(dir, 'deployments', 'kubernetes', `${file}.yaml`), text);
    if (file !== 'namespace') await writeFile(join(dir, `${file}.yaml`), text);
  }
}
