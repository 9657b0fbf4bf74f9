import { createHash } from 'node:crypto';
import type { FakeKube } from './fake-kube.js';
import type { ChangeEvent, KubeObject } from './types.js';

/**
 * The controllers a real cluster runs behind its API server, small enough to read, for the simulated
 * cluster: without them a Deployment whose template changes (`kubectl rollout undo` through the API, a
 * `kubectl apply` of a new image) never rolls out, and a rollback that waits for rollout-complete waits
 * forever.
 *
 * - Deployment: when a Deployment's spec changes (generation ahead of observedGeneration), after `delayMs`
 *   it does what kube-controller-manager does, in one step instead of surge by surge: the ReplicaSet it
 *   controls whose pod template matches (ignoring `pod-template-hash`) is reused — the `rollout undo`
 *   case — and renumbered to the next `deployment.kubernetes.io/revision` (the old number goes to
 *   `revision-history`), or a new ReplicaSet is created with the next revision; the Deployment gets that
 *   revision; older ReplicaSets scale to 0 and the new one to `spec.replicas`; their pods follow (Ready
 *   pods with the new template's labels and image, the old ones deleted); then the status: observed
 *   generation, replica counts, Available and Progressing (NewReplicaSetAvailable).
 * - A stalled Deployment (`stall`) is a rollout whose new pods never become Ready (a crash-looping
 *   image, say): the new ReplicaSet and its pods exist, the old pods keep serving, and Progressing turns
 *   False with ProgressDeadlineExceeded — at once rather than after `progressDeadlineSeconds`, so tests
 *   need not wait. `unstall` lets it finish.
 * - Endpoints: a Service's EndpointSlice lists the Ready pods its selector matches, again when the pods
 *   change or the selector does (a blue-green switch).
 *
 * Objects are written straight into the store (as a controller's writes are not the code under test),
 * so they show up in `history()` and change events like any other write.
 */

export const REVISION = 'deployment.kubernetes.io/revision';
const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
const TEMPLATE_HASH = 'pod-template-hash';
/** Marks the pods simulated for a catalogue service (several services may share a namespace). */
export const SERVICE_ANNOTATION = 'flightdeck.sandbox/service';
/** Deployment annotations kube-controller-manager does not copy to its ReplicaSets. */
const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

type Labels = Record<string, string>;

interface PodTemplate {
  metadata?: { labels?: Labels; annotations?: Labels; [key: string]: unknown };
  spec?: { containers?: { name?: string; image?: string }[]; [key: string]: unknown };
}

interface Workload extends KubeObject {
  spec?: {
    replicas?: number;
    paused?: boolean;
    selector?: { matchLabels?: Labels };
    template?: PodTemplate;
    [key: string]: unknown;
  };
  status?: Record<string, unknown>;
}

interface Pod extends KubeObject {
  spec?: { nodeName?: string; [key: string]: unknown };
  status?: {
    podIP?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
    [key: string]: unknown;
  };
}

export interface ControllerOptions {
  /** How long the controllers take to act on a change. Default 200 ms. */
  delayMs?: number;
}

export class SimulatedControllers {
  readonly delayMs: number;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly stalled = new Set<string>();
  private readonly unsubscribe: () => void;
  private pods = 0;
  private stopped = false;

  constructor(
    private readonly kube: FakeKube,
    options: ControllerOptions = {},
  ) {
    this.delayMs = options.delayMs ?? 200;
    this.unsubscribe = kube.onChange((event) => this.observe(event));
  }

  /** Rollouts of this Deployment stop making progress (ProgressDeadlineExceeded) until `unstall`. */
  stall(namespace: string, name: string): void {
    this.stalled.add(`${namespace}/${name}`);
  }

  /** The Deployment's rollout goes on: its new pods turn Ready and the rollout completes. */
  unstall(namespace: string, name: string): void {
    if (!this.stalled.delete(`${namespace}/${name}`)) return;
    this.schedule(`Deployment/${namespace}/${name}`, () => this.syncDeployment(namespace, name));
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private observe(event: ChangeEvent): void {
    if (event.type === 'DELETED') return;
    const { kind, metadata } = event.object;
    const namespace = metadata?.namespace ?? 'default';
    const name = metadata?.name ?? '';
    if (kind === 'Deployment') {
      const status = (event.object as Workload).status ?? {};
      const observed = typeof status.observedGeneration === 'number' ? status.observedGeneration : 0;
      if ((metadata?.generation ?? 0) > observed)
        this.schedule(`Deployment/${namespace}/${name}`, () => this.syncDeployment(namespace, name));
    } else if (kind === 'Service' && event.old) {
      const selector = (object: KubeObject | undefined) =>
        JSON.stringify((object?.spec as { selector?: unknown } | undefined)?.selector ?? null);
      if (selector(event.object) !== selector(event.old))
        this.schedule(`Service/${namespace}/${name}`, () => this.syncEndpoints(namespace, name));
    }
  }

  /** Once per object however many changes arrive meanwhile; the sync reads the latest state. */
  private schedule(key: string, sync: () => void): void {
    if (this.stopped || this.timers.has(key)) return;
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        if (!this.stopped) sync();
      }, this.delayMs),
    );
  }

  private syncDeployment(namespace: string, name: string): void {
    const ref = `Deployment/${namespace}/${name}`;
    const deployment = this.kube.get<Workload>(ref);
    if (!deployment) return;
    const generation = deployment.metadata?.generation ?? 1;
    const replicas = deployment.spec?.replicas ?? 1;
    const now = timestamp();
    if (deployment.spec?.paused) {
      this.write<Workload>(ref, (d) => {
        d.status = {
          ...d.status,
          observedGeneration: generation,
          conditions: [
            ...otherConditions(d.status, 'Progressing'),
            condition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused', now),
          ],
        };
      });
      return;
    }
    const template = deployment.spec?.template ?? {};
    const uid = deployment.metadata?.uid;
    const owned = this.kube
      .list<Workload>('ReplicaSet', namespace)
      .filter((rs) =>
        (rs.metadata?.ownerReferences ?? []).some((owner) => owner.controller === true && owner.uid === uid),
      );
    const highest = Math.max(0, ...owned.map(revisionOf));
    const existing = owned.find((rs) => sameTemplate(rs.spec?.template, template));
    const stalled = this.stalled.has(`${namespace}/${name}`);

    // The new ReplicaSet: reused (renumbered unless it is already the newest) or created.
    let revision: number;
    let current: Workload;
    const copied = Object.fromEntries(
      Object.entries(deployment.metadata?.annotations ?? {}).filter(([key]) => !NOT_COPIED.has(key)),
    );
    if (existing) {
      const own = revisionOf(existing);
      revision = own > 0 && own === highest ? own : highest + 1;
      current = this.write<Workload>(refOf(existing), (rs) => {
        const annotations = rs.metadata?.annotations ?? {};
        const history =
          own > 0 && own !== revision
            ? [annotations[REVISION_HISTORY], String(own)].filter(Boolean).join(',')
            : annotations[REVISION_HISTORY];
        rs.metadata = {
          ...rs.metadata,
          annotations: {
            ...annotations,
            ...copied,
            [REVISION]: String(revision),
            ...(history ? { [REVISION_HISTORY]: history } : {}),
          },
        };
        rs.spec = { ...rs.spec, replicas };
      });
    } else {
      revision = highest + 1;
      const hash = shortHash(`${uid}/${JSON.stringify(canonical(withoutHash(template)))}`, 10);
      const labels = { ...template.metadata?.labels, [TEMPLATE_HASH]: hash };
      current = this.kube.put<Workload>({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${name}-${hash}`,
          namespace,
          labels,
          annotations: { ...copied, [REVISION]: String(revision) },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name,
              uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: {
          replicas,
          selector: { matchLabels: { ...deployment.spec?.selector?.matchLabels, [TEMPLATE_HASH]: hash } },
          template: { ...template, metadata: { ...template.metadata, labels } },
        },
        status: { replicas: 0 },
      });
    }

    // Pods: the new ReplicaSet's come up (Ready unless stalled); the old ones go once it is available.
    const newPods = this.podsOf(current, namespace);
    const stable = owned.filter((rs) => rs.metadata?.uid !== current.metadata?.uid);
    const oldPods = stable.flatMap((rs) => this.podsOf(rs, namespace));
    const service = [...newPods, ...oldPods]
      .map((pod) => pod.metadata?.annotations?.[SERVICE_ANNOTATION])
      .find(Boolean);
    for (const pod of newPods.slice(replicas)) this.kube.remove(refOf(pod));
    for (const pod of newPods.slice(0, replicas))
      this.write<Pod>(refOf(pod), (p) => {
        p.status = podStatus(p, !stalled, now);
      });
    for (let index = newPods.length; index < replicas; index++)
      this.createPod(current, !stalled, service, now);
    const ready = stalled ? 0 : replicas;
    this.write<Workload>(refOf(current), (rs) => {
      rs.status = {
        observedGeneration: rs.metadata?.generation,
        replicas,
        fullyLabeledReplicas: replicas,
        readyReplicas: ready,
        availableReplicas: ready,
      };
    });
    const oldReady = oldPods.filter(isReady).length;
    if (!stalled) {
      for (const pod of oldPods) this.kube.remove(refOf(pod));
      for (const rs of stable)
        this.write<Workload>(refOf(rs), (old) => {
          // Scaling down is a spec change: the store bumps the generation, and the ReplicaSet has seen it.
          const bumped = (old.spec?.replicas ?? 1) !== 0;
          old.spec = { ...old.spec, replicas: 0 };
          old.status = {
            observedGeneration: (old.metadata?.generation ?? 1) + (bumped ? 1 : 0),
            replicas: 0,
            fullyLabeledReplicas: 0,
            readyReplicas: 0,
            availableReplicas: 0,
          };
        });
    }

    const rsName = current.metadata?.name;
    this.write<Workload>(ref, (d) => {
      d.metadata = {
        ...d.metadata,
        annotations: { ...d.metadata?.annotations, [REVISION]: String(revision) },
      };
      const available = stalled ? oldReady : replicas;
      d.status = {
        observedGeneration: generation,
        replicas: stalled ? replicas + oldReady : replicas,
        updatedReplicas: replicas,
        readyReplicas: available,
        availableReplicas: available,
        ...(stalled ? { unavailableReplicas: replicas } : {}),
        conditions: [
          available > 0
            ? condition(
                'Available',
                'True',
                'MinimumReplicasAvailable',
                'Deployment has minimum availability.',
                now,
              )
            : condition(
                'Available',
                'False',
                'MinimumReplicasUnavailable',
                'Deployment does not have minimum availability.',
                now,
              ),
          stalled
            ? condition(
                'Progressing',
                'False',
                'ProgressDeadlineExceeded',
                `ReplicaSet "${rsName}" has timed out progressing.`,
                now,
              )
            : condition(
                'Progressing',
                'True',
                'NewReplicaSetAvailable',
                `ReplicaSet "${rsName}" has successfully progressed.`,
                now,
              ),
        ],
      };
    });

    for (const svc of this.kube.list<KubeObject>('Service', namespace))
      this.syncEndpoints(namespace, svc.metadata?.name ?? '');
  }

  /** The Service's EndpointSlice: the pods its selector matches, ready or not, as the endpoints controller writes it. */
  private syncEndpoints(namespace: string, name: string): void {
    const service = this.kube.get<KubeObject>(`Service/${namespace}/${name}`);
    const selector = (service?.spec as { selector?: Labels } | undefined)?.selector;
    if (!service || !selector || Object.keys(selector).length === 0) return; // endpoints managed by hand
    const pods = this.kube
      .list<Pod>('Pod', namespace)
      .filter(
        (pod) =>
          pod.status?.podIP &&
          Object.entries(selector).every(([key, value]) => pod.metadata?.labels?.[key] === value),
      );
    const endpoints = pods.map((pod) => ({
      addresses: [pod.status?.podIP],
      conditions: { ready: isReady(pod), serving: isReady(pod), terminating: false },
      ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
    }));
    const slice = this.kube
      .list<KubeObject>('EndpointSlice', namespace)
      .find((candidate) => candidate.metadata?.labels?.['kubernetes.io/service-name'] === name);
    if (slice) {
      this.write<KubeObject>(refOf(slice), (s) => {
        s.endpoints = endpoints;
      });
      return;
    }
    const ports = ((service.spec as { ports?: { name?: string; targetPort?: unknown }[] }).ports ?? []).map(
      (port) => ({
        ...(port.name ? { name: port.name } : {}),
        port: typeof port.targetPort === 'number' ? port.targetPort : 80,
        protocol: 'TCP',
      }),
    );
    this.kube.put({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${name}-${shortHash(`${namespace}/${name}`, 5)}`,
        namespace,
        labels: {
          'kubernetes.io/service-name': name,
          'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        },
      },
      addressType: 'IPv4',
      endpoints,
      ports,
    });
  }

  private podsOf(rs: Workload, namespace: string): Pod[] {
    const uid = rs.metadata?.uid;
    return this.kube
      .list<Pod>('Pod', namespace)
      .filter((pod) => (pod.metadata?.ownerReferences ?? []).some((owner) => owner.uid === uid));
  }

  private createPod(rs: Workload, ready: boolean, service: string | undefined, now: string): void {
    const template = rs.spec?.template ?? {};
    const rsName = rs.metadata?.name ?? 'pod';
    const index = this.pods++;
    const nodes = this.kube.list<KubeObject>('Node').map((node) => node.metadata?.name as string);
    const name = `${rsName}-${shortHash(`${rsName}/${index}`, 5)}`;
    const ip = `10.245.${Math.floor(index / 250)}.${(index % 250) + 2}`;
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: rs.metadata?.namespace,
        labels: { ...template.metadata?.labels },
        annotations: {
          ...template.metadata?.annotations,
          ...(service ? { [SERVICE_ANNOTATION]: service } : {}),
        },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: rsName,
            uid: rs.metadata?.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        ...structuredClone(template.spec ?? {}),
        ...(nodes.length ? { nodeName: nodes[index % nodes.length] } : {}),
      },
      status: { podIP: ip, podIPs: [{ ip }], startTime: now },
    };
    pod.status = podStatus(pod, ready, now);
    this.kube.put(pod);
  }

  /** Changes a stored object, writing only when something changed (a controller's no-op sync writes nothing). */
  private write<T extends KubeObject>(ref: string, mutate: (object: T) => void): T {
    const stored = this.kube.get<T>(ref);
    if (!stored) throw new Error(`simulated controller: ${ref} is gone`);
    const next = structuredClone(stored);
    mutate(next);
    if (JSON.stringify(next) === JSON.stringify(stored)) return stored;
    return this.kube.update<T>(ref, (object) => {
      for (const key of Object.keys(object)) delete (object as KubeObject)[key];
      Object.assign(object, next);
    });
  }
}

/** A Running pod's status: Ready with its containers running, or crash-looping (a stalled rollout). */
function podStatus(pod: Pod, ready: boolean, now: string): Pod['status'] {
  const containers = ((pod.spec?.containers as { name?: string; image?: string }[] | undefined) ?? []).map(
    (container) => ({
      name: container.name,
      image: container.image,
      ready,
      started: ready,
      restartCount: ready ? 0 : 3,
      imageID: `sandbox://${container.image}`,
      state: ready
        ? { running: { startedAt: now } }
        : { waiting: { reason: 'CrashLoopBackOff', message: 'back-off restarting failed container' } },
    }),
  );
  const flag = ready ? 'True' : 'False';
  const previous = pod.status ?? {};
  return {
    ...previous,
    phase: 'Running',
    qosClass: 'Burstable',
    conditions: [
      { type: 'Initialized', status: 'True', lastTransitionTime: now },
      { type: 'Ready', status: flag, lastTransitionTime: now },
      { type: 'ContainersReady', status: flag, lastTransitionTime: now },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
    ],
    containerStatuses: containers,
  };
}

function isReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function condition(type: string, status: string, reason: string, message: string, now: string) {
  return { type, status, reason, message, lastUpdateTime: now, lastTransitionTime: now };
}

function otherConditions(status: Record<string, unknown> | undefined, type: string): unknown[] {
  const conditions = Array.isArray(status?.conditions) ? status.conditions : [];
  return conditions.filter((c) => (c as { type?: unknown }).type !== type);
}

function refOf(object: KubeObject): string {
  return `${object.kind}/${object.metadata?.namespace}/${object.metadata?.name}`;
}

function revisionOf(object: KubeObject): number {
  const raw = object.metadata?.annotations?.[REVISION];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : 0;
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function withoutHash(template: PodTemplate | undefined): PodTemplate {
  const copy = structuredClone(template ?? {});
  if (copy.metadata?.labels) delete copy.metadata.labels[TEMPLATE_HASH];
  return copy;
}

/** The controller's template equality: ignoring pod-template-hash, and absent equal to empty (as stored). */
function sameTemplate(a: PodTemplate | undefined, b: PodTemplate | undefined): boolean {
  return JSON.stringify(canonical(withoutHash(a))) === JSON.stringify(canonical(withoutHash(b)));
}

/** Sorted keys, without null, empty objects and empty arrays. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.length ? value.map((item) => canonical(item) ?? null) : undefined;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((key) => [key, canonical((value as Record<string, unknown>)[key])] as const)
      .filter(([, item]) => item !== undefined);
    return entries.length ? Object.fromEntries(entries) : undefined;
  }
  return value === null ? undefined : value;
}

/** Kubernetes-style random-looking names, but stable: the same input gives the same suffix. */
export function shortHash(seed: string, length: number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const digest = createHash('sha256').update(seed).digest();
  let out = '';
  for (let index = 0; out.length < length; index++)
    out += alphabet[digest[index % digest.length]! % alphabet.length];
  return out;
}
