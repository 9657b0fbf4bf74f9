import type { V1Service } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/client.js';
import { asMergePatch, type Requests } from './kube.js';
import { currentTraffic, type Switch, switchTraffic } from './switch.js';
import {
  type RollbackOptions,
  type TrafficChange,
  TrafficError,
  type TrafficState,
  type TrafficStrategy,
  type TrafficTarget,
} from './types.js';

/**
 * Blue-green: a Service's selector picks the live slot (`kubectl patch service api-gateway -p
 * '{"spec":{"selector":{"slot":"green"}}}'`). The switch is one field in one merge patch, so there is no
 * half-switched state; the patch carries the resourceVersion we read, so a concurrent edit of the
 * Service fails it (409) and we re-read instead of overwriting.
 */

export interface BlueGreenSettings {
  namespace: string;
  service: string;
  /** The selector label whose value is the slot. */
  slotLabel: string;
}

type Slot = 'blue' | 'green';

export class BlueGreenStrategy implements TrafficStrategy {
  private readonly subject: string;

  constructor(
    private readonly clients: KubeClients,
    private readonly settings: BlueGreenSettings,
    private readonly requests: Requests,
  ) {
    this.subject = `Service ${settings.namespace}/${settings.service}`;
  }

  describe(): string {
    return `blue-green on ${this.subject} (label ${this.settings.slotLabel})`;
  }

  current(signal?: AbortSignal): Promise<TrafficState> {
    return currentTraffic(this.switch(), signal);
  }

  shift(target: TrafficTarget, signal?: AbortSignal): Promise<TrafficChange> {
    if (!('slot' in target))
      return Promise.reject(
        new TrafficError(
          'invalid',
          `blue-green switches between slots (blue, green); it cannot send ${target.weight}% of traffic`,
        ),
      );
    return switchTraffic(this.requests, this.switch(), target.slot, signal);
  }

  live(signal?: AbortSignal): Promise<TrafficState> {
    return this.current(signal);
  }

  /** To the slot that was live when the deployment started; nothing moves when it still is. */
  rollback(signal: AbortSignal | undefined, options: RollbackOptions): Promise<TrafficChange> {
    const slot = options.to.slot;
    if (!slot)
      return Promise.reject(
        new TrafficError(
          'invalid',
          `no record of which slot of ${this.subject} was live when the deployment started`,
        ),
      );
    return switchTraffic(this.requests, this.switch(), slot, signal);
  }

  private read(signal: AbortSignal | undefined): Promise<V1Service> {
    const { namespace, service: name } = this.settings;
    return this.requests.send(signal, (options) =>
      this.clients.core.readNamespacedService({ name, namespace }, options),
    );
  }

  private state(service: V1Service): TrafficState {
    const label = this.settings.slotLabel;
    const name = this.settings.service;
    const selector = service.spec?.selector ?? {};
    const value = selector[label];
    if (value === 'blue' || value === 'green')
      return { slot: value, description: `${value} live via Service ${name} (selector ${label}=${value})` };
    const selects = Object.entries(selector)
      .map(([key, v]) => `${key}=${v}`)
      .join(',');
    if (value === undefined)
      return { description: `no slot selected: Service ${name} selects ${selects || 'nothing'}` };
    return { description: `Service ${name} selects ${label}=${value}, neither blue nor green` };
  }

  private switch(): Switch<V1Service, Slot> {
    const label = this.settings.slotLabel;
    return {
      subject: this.subject,
      read: (signal) => this.read(signal),
      state: (service) => this.state(service),
      problem: (service) => {
        const selector = service.spec?.selector ?? {};
        if (Object.keys(selector).length === 0)
          return `${this.subject} has no selector (its endpoints are managed by hand): blue-green needs a selector with the label ${label}`;
        // Adding the label would narrow the Service to pods that may not carry it: an outage, not a switch.
        if (selector[label] === undefined)
          return `${this.subject} does not select on the label ${label}; add ${label}: blue (or green) to its selector first`;
        return undefined;
      },
      reached: (service, slot) => service.spec?.selector?.[label] === slot,
      write: async (service, slot, signal) => {
        const { namespace, service: name } = this.settings;
        const body = {
          metadata: { resourceVersion: service.metadata?.resourceVersion },
          spec: { selector: { [label]: slot } },
        };
        await this.requests.send(signal, (options) =>
          this.clients.core.patchNamespacedService({ name, namespace, body }, asMergePatch(options)),
        );
      },
      wanted: (slot) => `the ${slot} slot`,
    };
  }
}
