import type { V1Ingress } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/client.js';
import { asMergePatch, type Requests } from './kube.js';
import { currentTraffic, rollbackWeight, type Switch, shiftWeight } from './switch.js';
import type {
  RollbackOptions,
  TrafficChange,
  TrafficState,
  TrafficStrategy,
  TrafficTarget,
} from './types.js';

/**
 * Canary through ingress-nginx: a second Ingress marked `nginx.ingress.kubernetes.io/canary: "true"` takes
 * `canary-weight` out of `canary-weight-total` (default 100) of the requests. One annotation, one merge
 * patch carrying the resourceVersion we read; rollback returns to the weight live when the deployment started.
 */

export const CANARY_ANNOTATION = 'nginx.ingress.kubernetes.io/canary';
export const WEIGHT_ANNOTATION = 'nginx.ingress.kubernetes.io/canary-weight';
export const WEIGHT_TOTAL_ANNOTATION = 'nginx.ingress.kubernetes.io/canary-weight-total';

export interface IngressNginxSettings {
  namespace: string;
  canaryIngress: string;
}

export class IngressNginxStrategy implements TrafficStrategy {
  private readonly subject: string;

  constructor(
    private readonly clients: KubeClients,
    private readonly settings: IngressNginxSettings,
    private readonly requests: Requests,
  ) {
    this.subject = `Ingress ${settings.namespace}/${settings.canaryIngress}`;
  }

  describe(): string {
    return `canary on ${this.subject} (ingress-nginx canary-weight)`;
  }

  current(signal?: AbortSignal): Promise<TrafficState> {
    return currentTraffic(this.switch(), signal);
  }

  shift(target: TrafficTarget, signal?: AbortSignal): Promise<TrafficChange> {
    return shiftWeight(this.requests, this.switch(), target, signal);
  }

  /** The canary's weight back to 0: the stable Ingress takes every request. */
  live(signal?: AbortSignal): Promise<TrafficState> {
    return this.current(signal);
  }

  /** Back to the weight that was live when the deployment started (normally 0). */
  rollback(signal: AbortSignal | undefined, options: RollbackOptions): Promise<TrafficChange> {
    return rollbackWeight(this.requests, this.switch(), options, signal);
  }

  private read(signal: AbortSignal | undefined): Promise<V1Ingress> {
    const { namespace, canaryIngress: name } = this.settings;
    return this.requests.send(signal, (options) =>
      this.clients.networking.readNamespacedIngress({ name, namespace }, options),
    );
  }

  private state(ingress: V1Ingress): TrafficState {
    const name = this.settings.canaryIngress;
    const annotations = ingress.metadata?.annotations ?? {};
    if (!isCanary(annotations)) return { description: `Ingress ${name} is not a canary Ingress` };
    const total = totalOf(annotations);
    const raw = annotations[WEIGHT_ANNOTATION] ?? '0';
    const value = Number(raw);
    if (total === undefined || !/^\d+$/.test(raw))
      return {
        description: `canary weight ${raw} (of ${annotations[WEIGHT_TOTAL_ANNOTATION] ?? 100}) via Ingress ${name}`,
      };
    const weight = Math.min(100, Math.round((value * 100) / total));
    return { weight, description: `canary ${weight}% (stable ${100 - weight}%) via Ingress ${name}` };
  }

  private switch(): Switch<V1Ingress, number> {
    return {
      subject: this.subject,
      read: (signal) => this.read(signal),
      state: (ingress) => this.state(ingress),
      problem: (ingress, weight) => {
        const annotations = ingress.metadata?.annotations ?? {};
        if (!Number.isInteger(weight) || weight < 0 || weight > 100)
          return `a canary weight is a whole number from 0 to 100, not ${weight}`;
        if (!isCanary(annotations))
          return `${this.subject} is not a canary Ingress (${CANARY_ANNOTATION} is ${JSON.stringify(annotations[CANARY_ANNOTATION] ?? null)}, not "true")`;
        if (totalOf(annotations) === undefined)
          return `${this.subject} has an unusable ${WEIGHT_TOTAL_ANNOTATION}: ${JSON.stringify(annotations[WEIGHT_TOTAL_ANNOTATION])}`;
        return undefined;
      },
      reached: (ingress, weight) => {
        const annotations = ingress.metadata?.annotations ?? {};
        const total = totalOf(annotations) ?? 100;
        return (
          isCanary(annotations) && (annotations[WEIGHT_ANNOTATION] ?? '0') === annotationValue(weight, total)
        );
      },
      write: async (ingress, weight, signal) => {
        const { namespace, canaryIngress: name } = this.settings;
        const total = totalOf(ingress.metadata?.annotations ?? {}) ?? 100;
        const body = {
          metadata: {
            resourceVersion: ingress.metadata?.resourceVersion,
            annotations: { [WEIGHT_ANNOTATION]: annotationValue(weight, total) },
          },
        };
        await this.requests.send(signal, (options) =>
          this.clients.networking.patchNamespacedIngress({ name, namespace, body }, asMergePatch(options)),
        );
      },
      wanted: (weight) => `canary ${weight}%`,
    };
  }
}

/** ingress-nginx reads its boolean annotations with Go's strconv.ParseBool. */
function isCanary(annotations: Record<string, string>): boolean {
  return ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(annotations[CANARY_ANNOTATION] ?? '');
}

/** `canary-weight-total`, 100 when absent; undefined when it is not a positive whole number. */
function totalOf(annotations: Record<string, string>): number | undefined {
  const raw = annotations[WEIGHT_TOTAL_ANNOTATION];
  if (raw === undefined) return 100;
  return /^\d+$/.test(raw) && Number(raw) > 0 ? Number(raw) : undefined;
}

/** A percentage as the annotation's string, scaled to the Ingress's total. */
function annotationValue(weight: number, total: number): string {
  return String(Math.round((weight * total) / 100));
}
