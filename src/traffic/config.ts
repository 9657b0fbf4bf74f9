import { z } from 'zod';
import { durationSchema } from '../shared/duration.js';

/**
 * A service's `traffic:` block in flightdeck.yaml: how its traffic moves and how it rolls back.
 *
 *   traffic: { strategy: blue-green, service: api-gateway }                 # slot_label: slot
 *   traffic: { strategy: canary, provider: ingress-nginx, canary_ingress: checkout-canary }
 *   traffic: { strategy: canary, provider: gateway-api, httproute: checkout,
 *              stable_service: checkout-stable, canary_service: checkout-canary }   # rule: 0
 *   traffic: { strategy: rolling, deployment: api }                          # rollout_timeout: 10m
 *
 * `namespace` defaults to the service's namespace.
 */

const objectName = z
  .string()
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'a Kubernetes object name: lower-case letters, digits, "-" and "."',
  );
const serviceName = z
  .string()
  .max(63)
  .regex(
    /^[a-z]([-a-z0-9]*[a-z0-9])?$/,
    'a Service name: lower-case letters, digits and "-", starting with a letter',
  );
const namespace = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a namespace: lower-case letters, digits and "-"')
  .optional();
const labelKey = z
  .string()
  .regex(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
    'a label key such as slot or example.com/slot',
  );

const blueGreen = z
  .object({
    strategy: z.literal('blue-green'),
    /** The Service whose selector picks the live slot. */
    service: serviceName,
    slot_label: labelKey.default('slot'),
    namespace,
  })
  .strict();

const ingressNginx = z
  .object({
    strategy: z.literal('canary'),
    provider: z.literal('ingress-nginx'),
    /** The Ingress annotated `nginx.ingress.kubernetes.io/canary: "true"`. */
    canary_ingress: objectName,
    namespace,
  })
  .strict();

const gatewayApi = z
  .object({
    strategy: z.literal('canary'),
    provider: z.literal('gateway-api'),
    httproute: objectName,
    stable_service: serviceName,
    canary_service: serviceName,
    /** Which of the route's rules carries the split. */
    rule: z.number().int().min(0).max(63).default(0),
    namespace,
  })
  .strict()
  .refine((config) => config.stable_service !== config.canary_service, {
    message: 'stable_service and canary_service must be different Services',
    path: ['canary_service'],
  });

const rolling = z
  .object({
    strategy: z.literal('rolling'),
    deployment: objectName,
    /** How long a rollback waits for the rollout to complete. */
    rollout_timeout: durationSchema.optional(),
    namespace,
  })
  .strict();

export const trafficConfigSchema = z.discriminatedUnion('strategy', [
  blueGreen,
  z.discriminatedUnion('provider', [ingressNginx, gatewayApi]),
  rolling,
]);

export type TrafficConfig = z.output<typeof trafficConfigSchema>;
export type TrafficConfigInput = z.input<typeof trafficConfigSchema>;
