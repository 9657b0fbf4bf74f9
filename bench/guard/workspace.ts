/**
 * bench:guard's installation: three services, one per traffic strategy, each with a checklist whose
 * rollback trigger (error rate over 5 % for `FOR_MS`, automatic) is evaluated every `EVERY_MS` — the
 * seeds' triggers with short windows. Each checklist puts the new code in front of users one way: an
 * ingress-nginx canary shift, a blue-green slot switch, or a rolling `kubectl apply` (its phase arms the
 * triggers).
 */
import { type FileConfig, fileConfigSchema } from '../../src/config/schema.js';
import { DEPLOYER } from '../support/workspace.js';

export const FOR_MS = 3_000;
export const EVERY_MS = 1_000;
export const THRESHOLD = 0.05;
/** What the breach sets the service's error ratio to: well clear of the threshold at every scrape. */
export const BREACH_ERROR_RATIO = 0.3;
export const TRIGGER_ID = 'errors';

/** The trigger's PromQL for a service, as its checklist has it once {{service}} is filled in. */
export function errorRatioQuery(service: string): string {
  return (
    `sum(irate(http_requests_total{service="${service}",code=~"5.."}[3s])) / ` +
    `sum(irate(http_requests_total{service="${service}"}[3s]))`
  );
}

export type Strategy = 'canary' | 'blue-green' | 'rolling';

export interface BenchService {
  name: string;
  strategy: Strategy;
  channel: string;
  namespace: string;
  checklist: string;
  /** The traffic step that puts new code in front of users (canary and blue-green). */
  shiftItem?: { phaseId: string; itemId: string };
  /** `Kind/namespace/name` of the object the rollback patches, and its API path (for the request log). */
  rollbackObject: string;
  rollbackPath: string;
}

export const SERVICES: BenchService[] = [
  {
    name: 'web',
    strategy: 'canary',
    channel: 'C0WEB',
    namespace: 'web',
    checklist: 'guarded-canary',
    shiftItem: { phaseId: 'canary', itemId: 'canary-10' },
    rollbackObject: 'Ingress/web/web-canary',
    rollbackPath: '/apis/networking.k8s.io/v1/namespaces/web/ingresses/web-canary',
  },
  {
    name: 'shop',
    strategy: 'blue-green',
    channel: 'C0SHOP',
    namespace: 'shop',
    checklist: 'guarded-blue-green',
    shiftItem: { phaseId: 'switch', itemId: 'go-green' },
    rollbackObject: 'Service/shop/shop',
    rollbackPath: '/api/v1/namespaces/shop/services/shop',
  },
  {
    name: 'api',
    strategy: 'rolling',
    channel: 'C0API',
    namespace: 'api',
    checklist: 'guarded-rolling',
    rollbackObject: 'Deployment/api/api',
    rollbackPath: '/apis/apps/v1/namespaces/api/deployments/api',
  },
];

const ROLLBACK = {
  evaluate_every: `${EVERY_MS}ms`,
  triggers: [
    {
      id: TRIGGER_ID,
      title: `Error rate > 5% for ${FOR_MS / 1000} seconds`,
      condition: {
        type: 'prometheus',
        query: errorRatioQuery('{{service}}'),
        comparator: '>',
        threshold: THRESHOLD,
        unit: 'ratio',
        label: 'error rate',
      },
      for: `${FOR_MS}ms`,
      auto: true,
    },
  ],
};

const WATCH = { id: 'watch', kind: 'wait', title: 'Watch the new version', wait: { duration: '10m' } };

/** Checklist id -> checklist (as YAML would hold it). */
export const CHECKLISTS: Record<string, object> = {
  'guarded-canary': {
    title: 'Guarded canary',
    phases: [
      {
        id: 'canary',
        title: 'Canary',
        sequential: true,
        items: [{ id: 'canary-10', kind: 'traffic', title: 'Canary 10%', traffic: { weight: 10 } }, WATCH],
      },
    ],
    rollback: ROLLBACK,
  },
  'guarded-blue-green': {
    title: 'Guarded blue-green switch',
    phases: [
      {
        id: 'switch',
        title: 'Switch',
        sequential: true,
        items: [
          { id: 'go-green', kind: 'traffic', title: 'Switch to green', traffic: { slot: 'green' } },
          WATCH,
        ],
      },
    ],
    rollback: ROLLBACK,
  },
  'guarded-rolling': {
    title: 'Guarded rolling release',
    phases: [
      {
        id: 'rollout',
        title: 'Roll out',
        starts_guards: true,
        sequential: true,
        items: [{ id: 'applied', kind: 'manual', title: 'kubectl apply the new image' }, WATCH],
      },
    ],
    rollback: ROLLBACK,
  },
};

/** The catalogue before the simulated infrastructure points its URLs at itself. */
export function catalogue(): FileConfig {
  return fileConfigSchema.parse({
    // No reminders or escalations: nothing but the deployments themselves talks in the threads.
    escalation: { levels: [] },
    roles: { deployer: { users: [DEPLOYER] } },
    services: {
      web: {
        checklist: 'guarded-canary',
        channel: 'C0WEB',
        namespace: 'web',
        kubernetes: {
          deployment: 'web-canary',
          stable_deployment: 'web',
          service: 'web',
          canary_ingress: 'web-canary',
          selector: 'app=web',
        },
        traffic: { strategy: 'canary', provider: 'ingress-nginx', canary_ingress: 'web-canary' },
        deployers: ['deployer'],
      },
      shop: {
        checklist: 'guarded-blue-green',
        channel: 'C0SHOP',
        namespace: 'shop',
        kubernetes: { deployment: 'shop-green', service: 'shop', selector: 'app=shop' },
        traffic: { strategy: 'blue-green', service: 'shop' },
        deployers: ['deployer'],
      },
      api: {
        checklist: 'guarded-rolling',
        channel: 'C0API',
        namespace: 'api',
        kubernetes: { deployment: 'api', service: 'api', selector: 'app=api' },
        traffic: { strategy: 'rolling', deployment: 'api' },
        deployers: ['deployer'],
      },
    },
  });
}
