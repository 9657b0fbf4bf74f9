/**
 * The kinds the fake serves from the start, with the defaulting and validation the checks and traffic
 * switching touch, plus Gateway API's HTTPRoute to register per test, and how a kind's names are written.
 */
import { fieldError } from './field-errors.js';
import { ensureRecord, isRecord, rec } from './json.js';
import { isEmptySelector, selectorMatches } from './selectors.js';
import type { FieldError, KubeObject, ResourceDefinition } from './types.js';

const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function podTemplateErrors(spec: Record<string, unknown>, path: string, kindLabel: string): FieldError[] {
  const errors: FieldError[] = [];
  const selector = spec.selector;
  const template = rec(spec.template);
  const templateLabels = rec(rec(template.metadata).labels) as Record<string, string>;
  if (!isRecord(selector)) {
    errors.push(fieldError.required(`${path}.selector`));
  } else if (isEmptySelector(selector)) {
    errors.push(
      fieldError.invalid(`${path}.selector`, selector, `empty selector is invalid for ${kindLabel}`),
    );
  } else if (!selectorMatches(selector, templateLabels)) {
    errors.push(
      fieldError.invalid(
        `${path}.template.metadata.labels`,
        templateLabels,
        '`selector` does not match template `labels`',
      ),
    );
  }
  if (typeof spec.replicas === 'number' && spec.replicas < 0)
    errors.push(fieldError.invalid(`${path}.replicas`, spec.replicas, 'must be greater than or equal to 0'));
  errors.push(...podSpecErrors(rec(template.spec), `${path}.template.spec`));
  return errors;
}

function podSpecErrors(spec: Record<string, unknown>, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  if (containers.length === 0) errors.push(fieldError.required(`${path}.containers`));
  const seen = new Set<string>();
  containers.forEach((raw, i) => {
    const container = rec(raw);
    const at = `${path}.containers[${i}]`;
    if (typeof container.name !== 'string' || container.name === '')
      errors.push(fieldError.required(`${at}.name`));
    else if (seen.has(container.name)) errors.push(fieldError.duplicate(`${at}.name`, container.name));
    else seen.add(container.name);
    if (typeof container.image !== 'string' || container.image.trim() === '')
      errors.push(fieldError.required(`${at}.image`));
  });
  return errors;
}

function serviceErrors(object: KubeObject): FieldError[] {
  const spec = rec(object.spec);
  const errors: FieldError[] = [];
  const types = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
  const type = spec.type ?? 'ClusterIP';
  if (typeof type !== 'string' || !types.includes(type))
    errors.push(fieldError.notSupported('spec.type', type, types));
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  if (ports.length === 0 && type !== 'ExternalName' && spec.clusterIP !== 'None')
    errors.push(fieldError.required('spec.ports'));
  const names = new Set<string>();
  ports.forEach((raw, i) => {
    const port = rec(raw);
    const at = `spec.ports[${i}]`;
    if (ports.length > 1) {
      if (typeof port.name !== 'string' || port.name === '') errors.push(fieldError.required(`${at}.name`));
      else if (names.has(port.name)) errors.push(fieldError.duplicate(`${at}.name`, port.name));
      else names.add(port.name);
    }
    if (!isPortNumber(port.port))
      errors.push(fieldError.invalid(`${at}.port`, port.port ?? 0, 'must be between 1 and 65535, inclusive'));
    const protocols = ['SCTP', 'TCP', 'UDP'];
    if (port.protocol !== undefined && !protocols.includes(String(port.protocol)))
      errors.push(fieldError.notSupported(`${at}.protocol`, port.protocol, protocols));
    const target = port.targetPort;
    if (typeof target === 'number' && !isPortNumber(target))
      errors.push(fieldError.invalid(`${at}.targetPort`, target, 'must be between 1 and 65535, inclusive'));
    if (typeof target === 'string' && (!IANA_SVC_NAME.test(target) || target.length > 15))
      errors.push(
        fieldError.invalid(
          `${at}.targetPort`,
          target,
          'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
        ),
      );
  });
  return errors;
}

function isPortNumber(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

let nextClusterIp = 10;

export const BUILT_IN: ResourceDefinition[] = [
  {
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    namespaced: true,
    shortNames: ['po'],
    statusSubresource: true,
    defaults: (o) => {
      o.status ??= { phase: 'Pending' };
    },
    validate: (o) => podSpecErrors(rec(o.spec), 'spec'),
  },
  {
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    namespaced: true,
    shortNames: ['svc'],
    statusSubresource: true,
    nameRule: 'dns1035-label',
    defaults: (o) => {
      const spec = ensureRecord(o, 'spec');
      spec.type ??= 'ClusterIP';
      if (spec.type !== 'ExternalName' && spec.clusterIP === undefined) {
        spec.clusterIP = `10.96.${Math.floor(nextClusterIp / 250)}.${(nextClusterIp % 250) + 1}`;
        spec.clusterIPs = [spec.clusterIP];
        nextClusterIp++;
      }
      spec.sessionAffinity ??= 'None';
      for (const port of Array.isArray(spec.ports) ? spec.ports : []) {
        if (!isRecord(port)) continue;
        port.protocol ??= 'TCP';
        port.targetPort ??= port.port;
      }
    },
    validate: serviceErrors,
  },
  { group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', namespaced: true, shortNames: ['ep'] },
  {
    group: '',
    version: 'v1',
    kind: 'Node',
    plural: 'nodes',
    namespaced: false,
    shortNames: ['no'],
    statusSubresource: true,
  },
  { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, shortNames: ['cm'] },
  { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  {
    group: '',
    version: 'v1',
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    namespaced: true,
    shortNames: ['sa'],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    namespaced: false,
    shortNames: ['ns'],
    statusSubresource: true,
    nameRule: 'dns1123-label',
    defaults: (o) => {
      o.status ??= { phase: 'Active' };
    },
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    plural: 'deployments',
    namespaced: true,
    shortNames: ['deploy'],
    statusSubresource: true,
    defaults: (o) => {
      const spec = ensureRecord(o, 'spec');
      spec.replicas ??= 1;
      spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
    },
    validate: (o) => podTemplateErrors(rec(o.spec), 'spec', 'deployment'),
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'ReplicaSet',
    plural: 'replicasets',
    namespaced: true,
    shortNames: ['rs'],
    statusSubresource: true,
    defaults: (o) => {
      const spec = ensureRecord(o, 'spec');
      spec.replicas ??= 1;
    },
    validate: (o) => podTemplateErrors(rec(o.spec), 'spec', 'replicaset'),
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'StatefulSet',
    plural: 'statefulsets',
    namespaced: true,
    shortNames: ['sts'],
    statusSubresource: true,
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'DaemonSet',
    plural: 'daemonsets',
    namespaced: true,
    shortNames: ['ds'],
    statusSubresource: true,
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'Ingress',
    plural: 'ingresses',
    namespaced: true,
    shortNames: ['ing'],
    statusSubresource: true,
  },
  {
    group: 'autoscaling',
    version: 'v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
    namespaced: true,
    shortNames: ['hpa'],
    statusSubresource: true,
    defaults: (o) => {
      const spec = ensureRecord(o, 'spec');
      spec.minReplicas ??= 1;
    },
    validate: (o) => {
      const spec = rec(o.spec);
      const errors: FieldError[] = [];
      const target = rec(spec.scaleTargetRef);
      if (!target.kind) errors.push(fieldError.required('spec.scaleTargetRef.kind'));
      if (!target.name) errors.push(fieldError.required('spec.scaleTargetRef.name'));
      const max = spec.maxReplicas;
      if (typeof max !== 'number' || max < 1)
        errors.push(fieldError.invalid('spec.maxReplicas', max ?? 0, 'must be greater than or equal to 1'));
      else if (typeof spec.minReplicas === 'number' && spec.minReplicas > max)
        errors.push(
          fieldError.invalid('spec.maxReplicas', max, 'must be greater than or equal to `minReplicas`'),
        );
      return errors;
    },
  },
  {
    group: 'discovery.k8s.io',
    version: 'v1',
    kind: 'EndpointSlice',
    plural: 'endpointslices',
    namespaced: true,
  },
];

/** Gateway API HTTPRoute as a custom resource, with its CRD's weight bounds. Register it per test. */
export const HTTPROUTE: ResourceDefinition = {
  group: 'gateway.networking.k8s.io',
  version: 'v1',
  kind: 'HTTPRoute',
  plural: 'httproutes',
  namespaced: true,
  custom: true,
  statusSubresource: true,
  validate: (o) => {
    const errors: FieldError[] = [];
    const rules = Array.isArray(rec(o.spec).rules) ? (rec(o.spec).rules as unknown[]) : [];
    rules.forEach((rule, r) => {
      const refs = rec(rule).backendRefs;
      (Array.isArray(refs) ? refs : []).forEach((ref, b) => {
        const weight = rec(ref).weight;
        const at = `spec.rules[${r}].backendRefs[${b}].weight`;
        if (weight === undefined) return;
        if (typeof weight !== 'number' || !Number.isInteger(weight))
          errors.push(fieldError.invalid(at, weight, `${at} in body must be of type integer`));
        else if (weight < 0)
          errors.push(fieldError.invalid(at, weight, `${at} in body should be greater than or equal to 0`));
        else if (weight > 1_000_000)
          errors.push(
            fieldError.invalid(at, weight, `${at} in body should be less than or equal to 1000000`),
          );
      });
    });
    return errors;
  },
};

export function apiVersionOf(def: ResourceDefinition): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

export function qualifiedResource(def: ResourceDefinition): string {
  return def.group ? `${def.plural}.${def.group}` : def.plural;
}

export function qualifiedKind(def: ResourceDefinition): string {
  return def.group ? `${def.kind}.${def.group}` : def.kind;
}
