import type { KubeClients } from '../kube/client.js';
import { BlueGreenStrategy } from './blue-green.js';
import type { TrafficConfig } from './config.js';
import { GatewayApiStrategy } from './gateway-api.js';
import { IngressNginxStrategy } from './ingress-nginx.js';
import { Requests } from './kube.js';
import { RollingStrategy } from './rolling.js';
import { DEFAULT_TRAFFIC_OPTIONS, type TrafficOptions, type TrafficStrategy } from './types.js';

export { type TrafficConfig, type TrafficConfigInput, trafficConfigSchema } from './config.js';
export { showsTarget } from './read-back.js';
export * from './types.js';

/** The strategy a service's `traffic:` block names; `defaults.namespace` is the service's namespace. */
export function createStrategy(
  config: TrafficConfig,
  clients: KubeClients,
  defaults: { namespace: string },
  options: TrafficOptions = {},
): TrafficStrategy {
  const namespace = config.namespace ?? defaults.namespace;
  const tuned = { ...DEFAULT_TRAFFIC_OPTIONS, ...definedOnly(options) };
  switch (config.strategy) {
    case 'blue-green':
      return new BlueGreenStrategy(
        clients,
        { namespace, service: config.service, slotLabel: config.slot_label },
        new Requests(tuned),
      );
    case 'canary':
      if (config.provider === 'ingress-nginx')
        return new IngressNginxStrategy(
          clients,
          { namespace, canaryIngress: config.canary_ingress },
          new Requests(tuned),
        );
      return new GatewayApiStrategy(
        clients,
        {
          namespace,
          httproute: config.httproute,
          stableService: config.stable_service,
          canaryService: config.canary_service,
          rule: config.rule,
        },
        new Requests(tuned),
      );
    case 'rolling':
      return new RollingStrategy(
        clients,
        { namespace, deployment: config.deployment },
        // The block's own rollout_timeout wins over the caller's default; an explicit option wins over both.
        new Requests({
          ...tuned,
          rolloutTimeoutMs: options.rolloutTimeoutMs ?? config.rollout_timeout ?? tuned.rolloutTimeoutMs,
        }),
      );
  }
}

function definedOnly(options: TrafficOptions): TrafficOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}
