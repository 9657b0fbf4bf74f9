import type { KubeClients } from '../kube/client.js';
import type { Requests } from './kube.js';
import { currentTraffic, rollbackWeight, type Switch, shiftWeight } from './switch.js';
import type {
  RollbackOptions,
  TrafficChange,
  TrafficState,
  TrafficStrategy,
  TrafficTarget,
} from './types.js';

/**
 * Canary through the Gateway API: one HTTPRoute rule's backendRefs weigh the stable and the canary
 * Service. Both weights change in ONE JSON Patch, so no stored version ever has one weight changed and
 * not the other, and the two always sum to 100. The patch
 *   - tests that the two backendRefs are still at the indices we read (JSON Patch addresses by index),
 *   - sets metadata.resourceVersion to the one we read: the API server compares it with the stored one
 *     and answers 409 when anything changed in between, so a concurrent edit is never mixed with ours,
 *   - then sets both weights (`add` also works when a weight was left to its default of 1).
 * A merge patch could not do this as well: RFC 7386 replaces arrays whole, so it would have to rewrite
 * every rule (matches, filters, other backends) from our copy.
 * Custom resources take JSON Patch or merge patch only; JSON Patch is the client's default.
 */

const GROUP = 'gateway.networking.k8s.io';
const VERSION = 'v1';
const PLURAL = 'httproutes';

export interface GatewayApiSettings {
  namespace: string;
  httproute: string;
  stableService: string;
  canaryService: string;
  /** Index into spec.rules. */
  rule: number;
}

interface BackendRef {
  name?: string;
  namespace?: string;
  group?: string;
  kind?: string;
  port?: number;
  weight?: number;
}

interface HttpRoute {
  metadata?: { name?: string; resourceVersion?: string };
  spec?: { rules?: { backendRefs?: BackendRef[] }[] };
}

/** Where the two backends sit in the rule, and what they weigh (the API's default weight is 1). */
interface Split {
  stableIndex: number;
  canaryIndex: number;
  stable: number;
  canary: number;
}

export class GatewayApiStrategy implements TrafficStrategy {
  private readonly subject: string;

  constructor(
    private readonly clients: KubeClients,
    private readonly settings: GatewayApiSettings,
    private readonly requests: Requests,
  ) {
    this.subject = `HTTPRoute ${settings.namespace}/${settings.httproute}`;
  }

  describe(): string {
    const { rule, stableService, canaryService } = this.settings;
    return `canary on ${this.subject} rule ${rule} (stable ${stableService}, canary ${canaryService})`;
  }

  current(signal?: AbortSignal): Promise<TrafficState> {
    return currentTraffic(this.switch(), signal);
  }

  shift(target: TrafficTarget, signal?: AbortSignal): Promise<TrafficChange> {
    return shiftWeight(this.requests, this.switch(), target, signal);
  }

  /** Canary 0, stable 100. */
  live(signal?: AbortSignal): Promise<TrafficState> {
    return this.current(signal);
  }

  /** Back to the weight that was live when the deployment started (normally 0). */
  rollback(signal: AbortSignal | undefined, options: RollbackOptions): Promise<TrafficChange> {
    return rollbackWeight(this.requests, this.switch(), options, signal);
  }

  private async read(signal: AbortSignal | undefined): Promise<HttpRoute> {
    const { namespace, httproute: name } = this.settings;
    return (await this.requests.send(signal, (options) =>
      this.clients.custom.getNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace, plural: PLURAL, name },
        options,
      ),
    )) as HttpRoute;
  }

  /** The rule's split between the two Services, or why there is none to speak of. */
  private split(route: HttpRoute): Split | string {
    const { rule, stableService, canaryService, namespace } = this.settings;
    const rules = route.spec?.rules ?? [];
    const refs = rules[rule]?.backendRefs;
    if (!refs) return `${this.subject} has no rule ${rule} with backendRefs (it has ${rules.length} rules)`;
    const isService = (ref: BackendRef, name: string) =>
      ref.name === name &&
      (ref.kind ?? 'Service') === 'Service' &&
      (ref.group ?? '') === '' &&
      (ref.namespace ?? namespace) === namespace;
    const find = (name: string): number | string => {
      const found = refs.flatMap((ref, index) => (isService(ref, name) ? [index] : []));
      if (found.length === 1) return found[0]!;
      return found.length === 0
        ? `rule ${rule} of ${this.subject} has no backendRef to Service ${name}`
        : `rule ${rule} of ${this.subject} refers to Service ${name} ${found.length} times`;
    };
    const stableIndex = find(stableService);
    if (typeof stableIndex === 'string') return stableIndex;
    const canaryIndex = find(canaryService);
    if (typeof canaryIndex === 'string') return canaryIndex;
    const others = refs.filter(
      (ref, index) => index !== stableIndex && index !== canaryIndex && weightOf(ref) > 0,
    );
    if (others.length > 0)
      return `rule ${rule} of ${this.subject} also sends traffic to ${others.map((ref) => ref.name).join(', ')}: Flightdeck splits between ${stableService} and ${canaryService} only`;
    return {
      stableIndex,
      canaryIndex,
      stable: weightOf(refs[stableIndex]!),
      canary: weightOf(refs[canaryIndex]!),
    };
  }

  private state(route: HttpRoute): TrafficState {
    const name = this.settings.httproute;
    const split = this.split(route);
    if (typeof split === 'string') return { description: split };
    const total = split.stable + split.canary;
    if (total === 0) return { description: `no traffic: both backends weigh 0 in HTTPRoute ${name}` };
    const weight = Math.round((split.canary * 100) / total);
    const raw = total === 100 ? '' : ` (weights ${split.stable}/${split.canary})`;
    return { weight, description: `canary ${weight}% (stable ${100 - weight}%) via HTTPRoute ${name}${raw}` };
  }

  private switch(): Switch<HttpRoute, number> {
    const { namespace, httproute: name, rule } = this.settings;
    return {
      subject: this.subject,
      read: (signal) => this.read(signal),
      state: (route) => this.state(route),
      problem: (route, weight) => {
        if (!Number.isInteger(weight) || weight < 0 || weight > 100)
          return `a canary weight is a whole number from 0 to 100, not ${weight}`;
        const split = this.split(route);
        return typeof split === 'string' ? split : undefined;
      },
      reached: (route, weight) => {
        const split = this.split(route);
        return typeof split !== 'string' && split.canary === weight && split.stable === 100 - weight;
      },
      write: async (route, weight, signal) => {
        const split = this.split(route) as Split;
        const refs = `/spec/rules/${rule}/backendRefs`;
        const body = [
          { op: 'test', path: `${refs}/${split.stableIndex}/name`, value: this.settings.stableService },
          { op: 'test', path: `${refs}/${split.canaryIndex}/name`, value: this.settings.canaryService },
          { op: 'replace', path: '/metadata/resourceVersion', value: route.metadata?.resourceVersion },
          { op: 'add', path: `${refs}/${split.stableIndex}/weight`, value: 100 - weight },
          { op: 'add', path: `${refs}/${split.canaryIndex}/weight`, value: weight },
        ];
        await this.requests.send(signal, (options) =>
          this.clients.custom.patchNamespacedCustomObject(
            { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body },
            options,
          ),
        );
      },
      wanted: (weight) => `canary ${weight}% (stable ${100 - weight}%)`,
    };
  }
}

function weightOf(ref: BackendRef): number {
  return ref.weight ?? 1;
}
