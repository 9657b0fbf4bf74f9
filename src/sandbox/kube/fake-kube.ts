/**
 * A fake Kubernetes API server on loopback, used only through the real `@kubernetes/client-node` with a
 * generated kubeconfig (plain http + `insecure-skip-tls-verify: true`, the one way the client accepts
 * http, and a bearer token user).
 *
 * It is a generic in-memory object store that speaks the API's paths (core `/api/v1/...`, groups
 * `/apis/<group>/<version>/...`, namespaced and cluster-scoped, a `/status` subresource), discovery (so
 * `KubernetesObjectApi` can map kind -> resource), label and field selectors, JSON Patch, merge patch,
 * strategic merge patch (as merge — enough for our kinds), server-side apply (as a merge of the applied
 * configuration; no field ownership), `dryRun=All`, resourceVersion conflicts, generation bumps on spec
 * changes, and errors as real `Status` objects (404, 409, 403, 422 with causes, 415…).
 *
 * Tests seed and mutate objects directly (`put`, `update`) to play the controllers — a Deployment's status
 * progressing, pods turning Ready, nodes going NotReady — inject faults (`forbid`, `failNext`,
 * `applyThenDrop`, `conflictNext`, `delay`) and inspect what the code under test did (`requests`, `history`).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { createKubeClients, type KubeClients } from '../../kube/client.js';

// ---------------------------------------------------------------------------------------------------
// Public types

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Record<string, unknown>[];
  [key: string]: unknown;
}

/** Any Kubernetes object as JSON. Seed helpers also accept client-node model types (`V1Deployment`…). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

/** The API's `Status` (what every error answers with). */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  code: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
}

export interface StatusCause {
  reason: string;
  message: string;
  field: string;
}

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** One field error, as `k8s.io/apimachinery/pkg/util/validation/field` phrases it. */
export interface FieldError {
  /** The Status cause type: FieldValueRequired, FieldValueInvalid, FieldValueNotSupported… */
  reason: string;
  field: string;
  /** The error without its field: `Required value`, `Invalid value: 0: must be between 1 and 65535, inclusive`. */
  message: string;
}

export interface ResourceDefinition {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular?: string;
  namespaced: boolean;
  shortNames?: string[];
  /** Has a `/status` subresource: writes to the object keep its status, writes to `/status` only change it. */
  statusSubresource?: boolean;
  /** A custom resource: PATCH takes JSON Patch, merge patch and apply only (no strategic merge). */
  custom?: boolean;
  /** Which rule metadata.name follows (default: RFC 1123 subdomain). */
  nameRule?: 'subdomain' | 'dns1123-label' | 'dns1035-label';
  /** Server-side defaulting, run on every write (fill in only what is missing). */
  defaults?: (object: KubeObject) => void;
  /** Server-side validation, run on API writes (not on `put`/`update` seeding). */
  validate?: (object: KubeObject) => FieldError[];
}

/** Which requests a fault applies to: a path prefix (`/apis/apps/v1/namespaces/x`), a resource
 * (`pods`, `deployments`, `apps/deployments`, `deployments.apps`, `deployments/status`, or the kind
 * `Deployment`), a RegExp over the path, or a predicate. */
export type RequestTarget = string | RegExp | ((request: RequestInfo) => boolean);
export type VerbMatch = Verb | Verb[] | '*';

export interface RequestInfo {
  method: string;
  path: string;
  query: Record<string, string>;
  verb: Verb;
  group?: string;
  version?: string;
  /** The plural resource name (`deployments`); undefined for discovery. */
  resource?: string;
  kind?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface FakeKubeRequest extends RequestInfo {
  contentType?: string;
  /** The parsed request body, when there was one. */
  body?: unknown;
  /** The HTTP status answered; 0 when the connection was reset on purpose. */
  status: number;
  at: number;
}

export interface ChangeEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  old?: KubeObject;
  definition: ResourceDefinition;
}

/** `Kind/namespace/name`, `Kind/name` (cluster-scoped), or an object. Kind may also be the plural
 * (`deployments`) or qualified (`httproutes.gateway.networking.k8s.io`). */
export type ObjectRef = string | { apiVersion?: string; kind: string; namespace?: string; name: string };

export interface FakeKubeOptions {
  /** Bearer token the kubeconfig carries and the server demands. */
  token?: string;
  /** The user named in Forbidden messages. */
  user?: string;
  /** The kubeconfig context's namespace. */
  namespace?: string;
  /** Extra resources (custom resources) served from the start. */
  resources?: ResourceDefinition[];
}

// ---------------------------------------------------------------------------------------------------
// Field errors, worded like apimachinery's

/** Go's `%#v` for the values field errors print: strings quoted, maps as `map[string]string{…}`. */
function goValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  if (isRecord(value) && Object.values(value).every((v) => typeof v === 'string')) {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${JSON.stringify(value[k])}`);
    return `map[string]string{${entries.join(', ')}}`;
  }
  return JSON.stringify(value);
}

export const fieldError = {
  required: (field: string, detail?: string): FieldError => ({
    reason: 'FieldValueRequired',
    field,
    message: detail ? `Required value: ${detail}` : 'Required value',
  }),
  invalid: (field: string, value: unknown, detail: string): FieldError => ({
    reason: 'FieldValueInvalid',
    field,
    message: `Invalid value: ${goValue(value)}: ${detail}`,
  }),
  notSupported: (field: string, value: unknown, supported: string[]): FieldError => ({
    reason: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${goValue(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  }),
  duplicate: (field: string, value: unknown): FieldError => ({
    reason: 'FieldValueDuplicate',
    field,
    message: `Duplicate value: ${goValue(value)}`,
  }),
};

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function nameErrors(name: string, rule: ResourceDefinition['nameRule']): FieldError[] {
  const field = 'metadata.name';
  if (rule === 'dns1035-label') {
    if (name.length > 63) return [fieldError.invalid(field, name, 'must be no more than 63 characters')];
    if (!DNS1035_LABEL.test(name))
      return [
        fieldError.invalid(
          field,
          name,
          "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        ),
      ];
    return [];
  }
  if (rule === 'dns1123-label') {
    if (name.length > 63) return [fieldError.invalid(field, name, 'must be no more than 63 characters')];
    if (!DNS1123_LABEL.test(name))
      return [
        fieldError.invalid(
          field,
          name,
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        ),
      ];
    return [];
  }
  if (name.length > 253) return [fieldError.invalid(field, name, 'must be no more than 253 characters')];
  if (!DNS1123_SUBDOMAIN.test(name))
    return [
      fieldError.invalid(
        field,
        name,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ),
    ];
  return [];
}

// ---------------------------------------------------------------------------------------------------
// Built-in kinds: defaulting and validation for what the checks and traffic switching touch

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

const BUILT_IN: ResourceDefinition[] = [
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

// ---------------------------------------------------------------------------------------------------
// Label and field selectors (apimachinery's `labels.Parse` grammar and matching rules)

export interface SelectorRequirement {
  key: string;
  operator: 'in' | 'notin' | 'exists' | '!exists';
  values: string[];
}

export class SelectorError extends Error {}

const LABEL_KEY = /^([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Parses `app=web,tier!=db,env in (prod,staging),!canary,track` into requirements. */
export function parseLabelSelector(selector: string): SelectorRequirement[] {
  const requirements: SelectorRequirement[] = [];
  if (selector.trim() === '') return requirements;
  for (const part of splitTopLevel(selector)) {
    const text = part.trim();
    const notExists = text.match(/^!\s*(\S+)$/);
    const set = text.match(/^(\S+)\s+(in|notin)\s*\((.*)\)$/);
    const equality = text.match(/^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/);
    const exists = text.match(/^(\S+)$/);
    if (notExists) {
      requirements.push({ key: checkKey(notExists[1]!, text), operator: '!exists', values: [] });
    } else if (set) {
      const values = set[3]!.split(',').map((v) => checkValue(v.trim(), text));
      requirements.push({ key: checkKey(set[1]!, text), operator: set[2] as 'in' | 'notin', values });
    } else if (equality) {
      const operator = equality[2] === '!=' ? 'notin' : 'in';
      requirements.push({
        key: checkKey(equality[1]!, text),
        operator,
        values: [checkValue(equality[3]!, text)],
      });
    } else if (exists) {
      requirements.push({ key: checkKey(exists[1]!, text), operator: 'exists', values: [] });
    } else {
      throw new SelectorError(`unable to parse requirement: found '${text}', expected a label requirement`);
    }
  }
  return requirements;
}

function checkKey(key: string, text: string): string {
  if (!LABEL_KEY.test(key) || key.split('/').pop()!.length > 63)
    throw new SelectorError(`unable to parse requirement: invalid label key "${key}" in '${text}'`);
  return key;
}

function checkValue(value: string, text: string): string {
  if (!LABEL_VALUE.test(value) || value.length > 63)
    throw new SelectorError(`unable to parse requirement: invalid label value "${value}" in '${text}'`);
  return value;
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

/** apimachinery's Requirement.Matches: `!=`/`notin` also match objects without the key. */
export function labelsMatch(
  selector: string | SelectorRequirement[],
  labels: Record<string, string> = {},
): boolean {
  const requirements = typeof selector === 'string' ? parseLabelSelector(selector) : selector;
  return requirements.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    switch (r.operator) {
      case 'in':
        return has && r.values.includes(labels[r.key]!);
      case 'notin':
        return !has || !r.values.includes(labels[r.key]!);
      case 'exists':
        return has;
      case '!exists':
        return !has;
    }
    return false;
  });
}

/** A `metav1.LabelSelector` (matchLabels + matchExpressions) against labels. */
function selectorMatches(selector: Record<string, unknown>, labels: Record<string, string>): boolean {
  const requirements: SelectorRequirement[] = [];
  for (const [key, value] of Object.entries(rec(selector.matchLabels)))
    requirements.push({ key, operator: 'in', values: [String(value)] });
  for (const raw of Array.isArray(selector.matchExpressions) ? selector.matchExpressions : []) {
    const expression = rec(raw);
    const operator = String(expression.operator);
    const values = Array.isArray(expression.values) ? expression.values.map(String) : [];
    const map: Record<string, SelectorRequirement['operator']> = {
      In: 'in',
      NotIn: 'notin',
      Exists: 'exists',
      DoesNotExist: '!exists',
    };
    if (!map[operator]) return false;
    requirements.push({ key: String(expression.key), operator: map[operator], values });
  }
  return labelsMatch(requirements, labels);
}

function isEmptySelector(selector: Record<string, unknown>): boolean {
  const labels = Object.keys(rec(selector.matchLabels)).length;
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions.length : 0;
  return labels + expressions === 0;
}

function fieldSelectorMatches(selector: string, object: KubeObject): boolean {
  if (selector.trim() === '') return true;
  return selector.split(',').every((part) => {
    const match = part.trim().match(/^([^=!]+?)\s*(==|=|!=)\s*(.*)$/);
    if (!match) throw new SelectorError(`invalid selector: '${part}'; can't understand '${part}'`);
    const actual = match[1]!.split('.').reduce<unknown>((value, key) => rec(value)[key], object);
    const equal = String(actual ?? '') === match[3];
    return match[2] === '!=' ? !equal : equal;
  });
}

// ---------------------------------------------------------------------------------------------------
// Patches

class PatchError extends Error {}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function pointerGet(doc: unknown, tokens: string[], pointer: string): unknown {
  let current = doc;
  for (const token of tokens) {
    if (Array.isArray(current)) current = current[Number(token)];
    else if (isRecord(current) && Object.hasOwn(current, token)) current = current[token];
    else current = undefined;
    if (current === undefined) throw new PatchError(`doc is missing path: "${pointer}": missing value`);
  }
  return current;
}

/** RFC 6902, applied to a copy. */
export function applyJsonPatch(document: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new PatchError('json patch must be an array of operations');
  let doc = clone(document);
  for (const raw of operations) {
    const op = rec(raw);
    const path = String(op.path ?? '');
    const tokens = parsePointer(path);
    const parentOf = (t: string[], p: string) => pointerGet(doc, t.slice(0, -1), p);
    const last = tokens[tokens.length - 1];
    const add = (t: string[], p: string, value: unknown) => {
      if (t.length === 0) {
        doc = value;
        return;
      }
      const parent = parentOf(t, p);
      const key = t[t.length - 1]!;
      if (Array.isArray(parent)) {
        const index = key === '-' ? parent.length : Number(key);
        if (!Number.isInteger(index) || index < 0 || index > parent.length)
          throw new PatchError(`add operation does not apply: index out of bounds: "${p}"`);
        parent.splice(index, 0, value);
      } else if (isRecord(parent)) parent[key] = value;
      else throw new PatchError(`add operation does not apply: doc is missing path: "${p}"`);
    };
    const remove = (t: string[], p: string) => {
      const parent = parentOf(t, p);
      const key = t[t.length - 1]!;
      if (Array.isArray(parent) && Number(key) < parent.length) parent.splice(Number(key), 1);
      else if (isRecord(parent) && Object.hasOwn(parent, key)) delete parent[key];
      else
        throw new PatchError(`remove operation does not apply: doc is missing path: "${p}": missing value`);
    };
    switch (op.op) {
      case 'add':
        add(tokens, path, clone(op.value));
        break;
      case 'remove':
        remove(tokens, path);
        break;
      case 'replace':
        if (last === undefined) doc = clone(op.value);
        else {
          pointerGet(doc, tokens, path);
          const parent = parentOf(tokens, path);
          if (Array.isArray(parent)) parent[Number(last)] = clone(op.value);
          else rec(parent)[last] = clone(op.value);
        }
        break;
      case 'move':
      case 'copy': {
        const from = String(op.from ?? '');
        const fromTokens = parsePointer(from);
        const value = clone(pointerGet(doc, fromTokens, from));
        if (op.op === 'move') remove(fromTokens, from);
        add(tokens, path, value);
        break;
      }
      case 'test':
        if (JSON.stringify(sortKeys(pointerGet(doc, tokens, path))) !== JSON.stringify(sortKeys(op.value)))
          throw new PatchError(`testing value ${path} failed`);
        break;
      default:
        throw new PatchError(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return doc;
}

/** RFC 7386 JSON merge patch: objects merge, null deletes, everything else (arrays too) replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return clone(patch);
  const result: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------
// Small JSON helpers

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `object[key]`, made an empty object first when it is not one. */
function ensureRecord(object: Record<string, unknown>, key: string): Record<string, unknown> {
  if (!isRecord(object[key])) object[key] = {};
  return object[key] as Record<string, unknown>;
}

function rec(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isRecord(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys(value[k])]),
  );
}

/** What generation tracks: everything but metadata and status. */
function specFingerprint(object: KubeObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = object;
  return JSON.stringify(sortKeys(rest));
}

function apiVersionOf(def: ResourceDefinition): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

function qualifiedResource(def: ResourceDefinition): string {
  return def.group ? `${def.plural}.${def.group}` : def.plural;
}

function qualifiedKind(def: ResourceDefinition): string {
  return def.group ? `${def.kind}.${def.group}` : def.kind;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function statusObject(
  code: number,
  message: string,
  reason = REASONS[code] ?? (code >= 500 ? 'InternalError' : 'Unknown'),
  details?: KubeStatus['details'],
): KubeStatus {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: code < 400 ? 'Success' : 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

class ApiError extends Error {
  constructor(readonly status: KubeStatus) {
    super(status.message);
  }
}

function fail(code: number, message: string, reason?: string, details?: KubeStatus['details']): never {
  throw new ApiError(statusObject(code, message, reason, details));
}

// ---------------------------------------------------------------------------------------------------
// The server

interface Route {
  discovery?: () => unknown;
  def?: ResourceDefinition;
  info: RequestInfo;
}

interface Fault {
  verbs: VerbMatch;
  target?: RequestTarget;
  remaining: number;
  respond: (info: RequestInfo) => KubeStatus | 'reset';
  /** Carry the request out first, then answer with `respond`: the change is stored, its answer lost. */
  applyFirst?: boolean;
}

interface Reply {
  status: number;
  body: unknown;
}

const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

export class FakeKube {
  /** Every request, oldest first. Clear it with `requests.length = 0`. */
  readonly requests: FakeKubeRequest[] = [];
  private readonly definitions: ResourceDefinition[] = [...BUILT_IN];
  private readonly store = new Map<string, KubeObject>();
  private readonly versions = new Map<string, KubeObject[]>();
  private readonly listeners = new Set<(event: ChangeEvent) => void>();
  private faults: Fault[] = [];
  private delays: { ms: number; target?: RequestTarget }[] = [];
  private revision = 1000;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly token: string,
    readonly user: string,
    readonly namespace: string,
    private readonly dir: string,
    readonly kubeconfigPath: string,
  ) {}

  static async start(options: FakeKubeOptions = {}): Promise<FakeKube> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    const token = options.token ?? `fake-token-${randomUUID()}`;
    const namespace = options.namespace ?? 'default';
    const dir = await mkdtemp(join(tmpdir(), 'flightdeck-kube-'));
    const kubeconfigPath = join(dir, 'kubeconfig.yaml');
    await writeFile(
      kubeconfigPath,
      stringifyYaml({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'fake-user', user: { token } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake-user', namespace } }],
        'current-context': 'fake',
      }),
      { mode: 0o600 },
    );
    const kube = new FakeKube(
      server,
      url,
      token,
      options.user ?? 'system:serviceaccount:flightdeck:flightdeck',
      namespace,
      dir,
      kubeconfigPath,
    );
    for (const def of options.resources ?? []) kube.register(def);
    server.on('request', (req, res) => {
      kube.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(statusObject(500, `fake-kube crashed: ${(error as Error).message}`)));
      });
    });
    return kube;
  }

  /** A KubeConfig loaded from the generated kubeconfig file. */
  kubeConfig(): KubeConfig {
    const config = new KubeConfig();
    config.loadFromFile(this.kubeconfigPath);
    return config;
  }

  /** The project's client bundle, pointed at this server. */
  clients(): KubeClients {
    return createKubeClients(this.kubeConfig());
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }

  // ----- resources -----

  /** Serves another resource (typically a custom resource such as `HTTPROUTE`), discovery included. */
  register(definition: ResourceDefinition): void {
    const existing = this.definitions.findIndex(
      (d) =>
        d.group === definition.group && d.version === definition.version && d.plural === definition.plural,
    );
    if (existing >= 0) this.definitions[existing] = definition;
    else this.definitions.push(definition);
  }

  resources(): ResourceDefinition[] {
    return [...this.definitions];
  }

  // ----- direct access for tests (no faults, no validation, but metadata, defaults and history) -----

  /** Creates or replaces an object as a controller would; keeps a given generation, else tracks spec changes. */
  put<T extends object>(object: T): T {
    const next = clone(object) as KubeObject;
    const def = this.definitionFor(next.apiVersion, next.kind);
    next.apiVersion ??= apiVersionOf(def);
    next.metadata ??= {};
    if (!next.metadata.name) throw new Error(`fake-kube put: ${def.kind} without metadata.name`);
    if (def.namespaced) next.metadata.namespace ??= 'default';
    else delete next.metadata.namespace;
    const key = this.key(def, next.metadata.namespace, next.metadata.name);
    return this.commit(def, key, next, this.store.get(key), { keepGeneration: true }) as T;
  }

  get<T extends object = KubeObject>(ref: ObjectRef): T | undefined {
    const { key } = this.resolve(ref);
    const found = this.store.get(key);
    return found ? (clone(found) as T) : undefined;
  }

  /** Objects of a kind (all namespaces unless one is given), sorted by namespace and name. */
  list<T extends object = KubeObject>(kind: string, namespace?: string): T[] {
    const def = this.definitionFor(undefined, kind);
    return this.objectsOf(def, namespace).map((o) => clone(o) as T);
  }

  /** Mutates a copy of a stored object and stores it (status included), e.g. to play a controller. */
  update<T extends object = KubeObject>(ref: ObjectRef, mutate: (object: T) => void): T {
    const { def, key } = this.resolve(ref);
    const old = this.store.get(key);
    if (!old)
      throw new Error(`fake-kube update: ${typeof ref === 'string' ? ref : JSON.stringify(ref)} not found`);
    const next = clone(old);
    mutate(next as T);
    return this.commit(def, key, next, old, { keepGeneration: true }) as T;
  }

  remove(ref: ObjectRef): boolean {
    const { def, key } = this.resolve(ref);
    const old = this.store.get(key);
    if (!old) return false;
    this.store.delete(key);
    this.emit({ type: 'DELETED', object: clone(old), definition: def });
    return true;
  }

  /** Every stored version of an object, oldest first (dry runs are never stored). */
  history<T extends object = KubeObject>(ref: ObjectRef): T[] {
    const { key } = this.resolve(ref);
    return (this.versions.get(key) ?? []).map((o) => clone(o) as T);
  }

  /** Called after every stored change (API writes and `put`/`update`); returns an unsubscribe. */
  onChange(listener: (event: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ----- faults -----

  /** Answers matching requests 403 Forbidden (RBAC's wording) until the returned function is called. */
  forbid(verbs: VerbMatch, target?: RequestTarget): () => void {
    const fault: Fault = {
      verbs,
      target,
      remaining: Number.POSITIVE_INFINITY,
      respond: (info) => this.forbidden(info),
    };
    this.faults.push(fault);
    return () => {
      this.faults = this.faults.filter((f) => f !== fault);
    };
  }

  /** Answers the next `times` matching requests with `status` (a Status body), or resets the connection. */
  failNext(
    verbs: VerbMatch,
    target: RequestTarget | undefined,
    status: number | 'reset',
    times = 1,
    message?: string,
  ): void {
    this.faults.push({
      verbs,
      target,
      remaining: times,
      respond: (info) => (status === 'reset' ? 'reset' : this.injected(status, info, message)),
    });
  }

  /**
   * Carries out the next `times` matching requests, then loses their answer: the connection is reset, or
   * `status` is answered (a 500 after storing) — a write that was applied although its caller cannot know.
   */
  applyThenDrop(
    verbs: VerbMatch,
    target: RequestTarget | undefined,
    status: number | 'reset' = 'reset',
    times = 1,
  ): void {
    this.faults.push({
      verbs,
      target,
      remaining: times,
      applyFirst: true,
      respond: (info) => (status === 'reset' ? 'reset' : this.injected(status, info)),
    });
  }

  /** Answers the next `times` matching writes 409 Conflict, as if someone else had just written. */
  conflictNext(target?: RequestTarget, times = 1): void {
    this.faults.push({
      verbs: ['create', 'update', 'patch', 'delete'],
      target,
      remaining: times,
      respond: (info) => this.conflict(info),
    });
  }

  /** Delays every matching response by `ms` (0 removes all delays). */
  delay(ms: number, target?: RequestTarget): void {
    if (ms <= 0) this.delays = [];
    else this.delays.push({ ms, target });
  }

  clearFaults(): void {
    this.faults = [];
    this.delays = [];
  }

  /** Empties the store, history, request log, faults and listeners; registered resources stay. */
  reset(): void {
    this.store.clear();
    this.versions.clear();
    this.listeners.clear();
    this.requests.length = 0;
    this.clearFaults();
  }

  // ----- internals: store -----

  private key(def: ResourceDefinition, namespace: string | undefined, name: string): string {
    return `${def.group}/${def.plural}/${def.namespaced ? (namespace ?? '') : ''}/${name}`;
  }

  private definitionFor(apiVersion: string | undefined, kind: string | undefined): ResourceDefinition {
    if (!kind) throw new Error('fake-kube: object without kind');
    const lower = kind.toLowerCase();
    const group = apiVersion?.includes('/') ? apiVersion.split('/')[0] : apiVersion ? '' : undefined;
    const found = this.definitions.find(
      (d) =>
        (group === undefined || d.group === group) &&
        (d.kind.toLowerCase() === lower ||
          d.plural === lower ||
          `${d.plural}.${d.group}` === lower ||
          `${d.kind}.${d.group}`.toLowerCase() === lower),
    );
    if (!found) throw new Error(`fake-kube: unknown kind ${apiVersion ? `${apiVersion} ` : ''}${kind}`);
    return found;
  }

  private resolve(ref: ObjectRef): { def: ResourceDefinition; key: string } {
    let apiVersion: string | undefined;
    let kind: string;
    let namespace: string | undefined;
    let name: string;
    if (typeof ref === 'string') {
      const parts = ref.split('/');
      if (parts.length === 3) [kind, namespace, name] = parts as [string, string, string];
      else if (parts.length === 2) [kind, name] = parts as [string, string];
      else throw new Error(`fake-kube: object reference "${ref}" is not Kind/namespace/name or Kind/name`);
    } else ({ apiVersion, kind, namespace, name } = ref);
    const def = this.definitionFor(apiVersion, kind);
    if (def.namespaced && !namespace) throw new Error(`fake-kube: ${def.kind} ${name} needs a namespace`);
    return { def, key: this.key(def, namespace, name) };
  }

  private objectsOf(def: ResourceDefinition, namespace?: string): KubeObject[] {
    const prefix = `${def.group}/${def.plural}/`;
    return [...this.store.entries()]
      .filter(([key, o]) => key.startsWith(prefix) && (!namespace || o.metadata?.namespace === namespace))
      .map(([, o]) => o)
      .sort((a, b) =>
        `${a.metadata?.namespace ?? ''}/${a.metadata?.name}`.localeCompare(
          `${b.metadata?.namespace ?? ''}/${b.metadata?.name}`,
        ),
      );
  }

  /** Stamps metadata, applies defaults and (unless a dry run) stores, records and announces. */
  private commit(
    def: ResourceDefinition,
    key: string,
    next: KubeObject,
    old: KubeObject | undefined,
    options: { dryRun?: boolean; keepGeneration?: boolean } = {},
  ): KubeObject {
    next.apiVersion = apiVersionOf(def);
    next.kind = def.kind;
    def.defaults?.(next);
    next.metadata ??= {};
    const meta = next.metadata;
    meta.uid = old?.metadata?.uid ?? meta.uid ?? randomUUID();
    meta.creationTimestamp =
      old?.metadata?.creationTimestamp ??
      meta.creationTimestamp ??
      new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const oldGeneration = old?.metadata?.generation ?? 0;
    const explicit =
      options.keepGeneration && meta.generation !== undefined && meta.generation !== oldGeneration;
    if (!explicit) {
      meta.generation = !old
        ? 1
        : specFingerprint(next) !== specFingerprint(old)
          ? oldGeneration + 1
          : oldGeneration || 1;
    }
    if (options.dryRun) {
      if (old) meta.resourceVersion = old.metadata?.resourceVersion;
      else delete meta.resourceVersion;
      return clone(next);
    }
    meta.resourceVersion = String(++this.revision);
    const stored = clone(next);
    this.store.set(key, stored);
    const versions = this.versions.get(key) ?? [];
    versions.push(clone(stored));
    this.versions.set(key, versions);
    this.emit({ type: old ? 'MODIFIED' : 'ADDED', object: clone(stored), old: clone(old), definition: def });
    return clone(stored);
  }

  private emit(event: ChangeEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  // ----- internals: HTTP -----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake-kube');
    const raw = await readBody(req);
    const method = req.method ?? 'GET';
    const query = Object.fromEntries(url.searchParams);
    const contentType = req.headers['content-type']?.split(';')[0]?.trim();
    const entry: FakeKubeRequest = {
      method,
      path: url.pathname,
      query,
      verb: 'get',
      contentType,
      status: 0,
      at: Date.now(),
    };
    this.requests.push(entry);

    let reply: Reply | 'reset';
    try {
      // Authentication comes before routing, as in the real server.
      if (req.headers.authorization !== `Bearer ${this.token}`) fail(401, 'Unauthorized');
      const route = this.route(method, url.pathname, query);
      Object.assign(entry, route.info);
      let body: unknown;
      if (raw.length > 0) {
        try {
          body = contentType === PATCH_TYPES.apply ? parseYaml(raw) : JSON.parse(raw);
        } catch (error) {
          fail(400, `the body of the request could not be decoded: ${(error as Error).message}`);
        }
        entry.body = body;
      }
      const wait = this.delays
        .filter((d) => matchesTarget(d.target, route.info))
        .reduce((a, d) => a + d.ms, 0);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const fault = this.faults.find(
        (f) =>
          f.remaining > 0 && verbMatches(f.verbs, route.info.verb) && matchesTarget(f.target, route.info),
      );
      if (fault) {
        fault.remaining--;
        if (fault.applyFirst) this.dispatchLosingTheAnswer(route, body, contentType);
        const answer = fault.respond(route.info);
        if (answer === 'reset') reply = 'reset';
        else throw new ApiError(answer);
      } else reply = this.dispatch(route, body, contentType);
    } catch (error) {
      if (error instanceof ApiError) reply = { status: error.status.code, body: error.status };
      else throw error;
    }

    if (reply === 'reset') {
      entry.status = 0;
      req.socket.destroy();
      return;
    }
    entry.status = reply.status;
    if (res.destroyed) return;
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(reply.body));
  }

  private route(method: string, pathname: string, query: Record<string, string>): Route {
    const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const info: RequestInfo = { method, path: pathname, query, verb: 'get' };
    const notFound = () => fail(404, 'the server could not find the requested resource', 'NotFound', {});
    if (method === 'GET' && parts.length === 1 && parts[0] === 'version')
      return {
        info,
        discovery: () => ({ major: '1', minor: '32', gitVersion: 'v1.32.0-fake', platform: 'linux/amd64' }),
      };
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api') {
      if (parts.length === 1)
        return {
          info,
          discovery: () => ({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] }),
        };
      group = '';
      version = parts[1]!;
      rest = parts.slice(2);
    } else if (parts[0] === 'apis') {
      if (parts.length === 1) return { info, discovery: () => this.groupList() };
      const name = parts[1]!;
      if (parts.length === 2) {
        const found = this.groupList().groups.find((g) => g.name === name);
        if (!found) notFound();
        return { info, discovery: () => ({ kind: 'APIGroup', apiVersion: 'v1', ...found }) };
      }
      group = name;
      version = parts[2]!;
      rest = parts.slice(3);
    } else return notFound();

    info.group = group;
    info.version = version;
    const served = this.definitions.filter((d) => d.group === group && d.version === version);
    if (served.length === 0) notFound();
    if (rest.length === 0) {
      if (method !== 'GET') fail(405, `the server does not allow this method on the requested resource`);
      return { info, discovery: () => this.resourceList(group, version) };
    }
    let namespace: string | undefined;
    // `/api/v1/namespaces/<name>/status` is the Namespace's own subresource, not a resource in it.
    if (
      rest[0] === 'namespaces' &&
      rest.length >= 3 &&
      !(group === '' && rest.length === 3 && ['status', 'finalize'].includes(rest[2]!))
    ) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [plural, name, subresource, ...extra] = rest;
    const def = served.find((d) => d.plural === plural);
    if (!def || extra.length > 0 || (namespace !== undefined && !def.namespaced)) return notFound();
    if (subresource !== undefined && !(subresource === 'status' && def.statusSubresource)) return notFound();
    Object.assign(info, { resource: def.plural, kind: def.kind, namespace, name, subresource });

    switch (method) {
      case 'GET':
        info.verb = name ? 'get' : query.watch === 'true' || query.watch === '1' ? 'watch' : 'list';
        break;
      case 'POST':
        info.verb = 'create';
        if (name || (def.namespaced && !namespace))
          fail(405, 'the server does not allow this method on the requested resource');
        break;
      case 'PUT':
        info.verb = 'update';
        break;
      case 'PATCH':
        info.verb = 'patch';
        break;
      case 'DELETE':
        info.verb = name ? 'delete' : 'deletecollection';
        break;
      default:
        fail(405, 'the server does not allow this method on the requested resource');
    }
    if (['update', 'patch'].includes(info.verb) && !name)
      fail(405, 'the server does not allow this method on the requested resource');
    if (name && def.namespaced && !namespace) notFound();
    return { info, def };
  }

  private groupList() {
    const groups = new Map<string, string[]>();
    for (const d of this.definitions) {
      if (!d.group) continue;
      const versions = groups.get(d.group) ?? [];
      if (!versions.includes(d.version)) versions.push(d.version);
      groups.set(d.group, versions);
    }
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...groups.entries()].map(([name, versions]) => ({
        name,
        versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
        preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
      })),
    };
  }

  private resourceList(group: string, version: string) {
    const resources = this.definitions
      .filter((d) => d.group === group && d.version === version)
      .flatMap((d) => {
        const main = {
          name: d.plural,
          singularName: d.singular ?? d.kind.toLowerCase(),
          namespaced: d.namespaced,
          kind: d.kind,
          verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
          ...(d.shortNames ? { shortNames: d.shortNames } : {}),
        };
        const status = {
          name: `${d.plural}/status`,
          singularName: '',
          namespaced: d.namespaced,
          kind: d.kind,
          verbs: ['get', 'patch', 'update'],
        };
        return d.statusSubresource ? [main, status] : [main];
      });
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources,
    };
  }

  /** Carries a request out as usual (stored, or refused) for a fault that then answers in its place. */
  private dispatchLosingTheAnswer(route: Route, body: unknown, contentType: string | undefined): void {
    try {
      this.dispatch(route, body, contentType);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    }
  }

  private dispatch(route: Route, body: unknown, contentType: string | undefined): Reply {
    if (route.discovery) return { status: 200, body: route.discovery() };
    const def = route.def!;
    const { info } = route;
    const dryRun = this.dryRun(info.query);
    switch (info.verb) {
      case 'get':
        return { status: 200, body: this.read(def, info) };
      case 'list':
        return { status: 200, body: this.listReply(def, info) };
      case 'create':
        return this.create(def, info, body, contentType, dryRun);
      case 'update':
        return this.replace(def, info, body, contentType, dryRun);
      case 'patch':
        return this.patch(def, info, body, contentType, dryRun);
      case 'delete':
        return this.delete(def, info, dryRun);
      default:
        return fail(405, `${info.verb} is not supported by the fake Kubernetes API`, 'MethodNotAllowed');
    }
  }

  private dryRun(query: Record<string, string>): boolean {
    if (query.dryRun === undefined) return false;
    if (query.dryRun !== 'All')
      fail(
        400,
        `Invalid dryRun value: ${JSON.stringify(query.dryRun)}: supported values: "All"`,
        'BadRequest',
      );
    return true;
  }

  private notFound(def: ResourceDefinition, name: string): never {
    return fail(404, `${qualifiedResource(def)} "${name}" not found`, 'NotFound', {
      name,
      group: def.group,
      kind: def.plural,
    });
  }

  private read(def: ResourceDefinition, info: RequestInfo): KubeObject {
    const found = this.store.get(this.key(def, info.namespace, info.name!));
    if (!found) this.notFound(def, info.name!);
    return clone(found);
  }

  private listReply(def: ResourceDefinition, info: RequestInfo) {
    let items = this.objectsOf(def, info.namespace);
    try {
      const labels = parseLabelSelector(info.query.labelSelector ?? '');
      items = items.filter((o) => labelsMatch(labels, o.metadata?.labels ?? {}));
      items = items.filter((o) => fieldSelectorMatches(info.query.fieldSelector ?? '', o));
    } catch (error) {
      if (error instanceof SelectorError) fail(400, error.message, 'BadRequest');
      throw error;
    }
    const offset = info.query.continue ? Number(Buffer.from(info.query.continue, 'base64url').toString()) : 0;
    const limit = info.query.limit ? Number(info.query.limit) : 0;
    const page = limit > 0 ? items.slice(offset, offset + limit) : items.slice(offset);
    const more = limit > 0 && offset + limit < items.length;
    return {
      kind: `${def.kind}List`,
      apiVersion: apiVersionOf(def),
      metadata: {
        resourceVersion: String(this.revision),
        ...(more
          ? {
              continue: Buffer.from(String(offset + limit)).toString('base64url'),
              remainingItemCount: items.length - offset - limit,
            }
          : {}),
      },
      // Built-in lists carry kind/apiVersion once, on the list; custom resources keep them per item.
      items: page.map((o) => {
        const item = clone(o);
        if (!def.custom) {
          delete item.kind;
          delete item.apiVersion;
        }
        return item;
      }),
    };
  }

  /** Checks a request body's kind and apiVersion against the URL (built-ins may leave them out). */
  private decode(def: ResourceDefinition, body: unknown, contentType: string | undefined): KubeObject {
    if (contentType !== undefined && contentType !== 'application/json' && contentType !== 'application/yaml')
      fail(
        415,
        `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
      );
    if (!isRecord(body)) fail(400, 'the body of the request could not be decoded: expected an object');
    const object = clone(body) as KubeObject;
    if (object.kind === undefined && def.custom)
      fail(400, `Object 'Kind' is missing in '${JSON.stringify(body)}'`);
    if (object.apiVersion === undefined && def.custom)
      fail(400, `Object 'apiVersion' is missing in '${JSON.stringify(body)}'`);
    if (object.kind !== undefined && object.kind !== def.kind)
      fail(
        400,
        `${object.kind} in version "${def.version}" cannot be handled as a ${def.kind}: the kind does not match the request`,
      );
    if (object.apiVersion !== undefined && object.apiVersion !== apiVersionOf(def))
      fail(
        400,
        `the API version in the data (${object.apiVersion}) does not match the expected API version (${apiVersionOf(def)})`,
      );
    if (object.metadata !== undefined && !isRecord(object.metadata)) fail(400, 'metadata must be an object');
    return object;
  }

  private checkNamespace(def: ResourceDefinition, info: RequestInfo, object: KubeObject): void {
    object.metadata ??= {};
    const meta = object.metadata;
    if (!def.namespaced) {
      delete meta.namespace;
      return;
    }
    if (meta.namespace === undefined || meta.namespace === '') meta.namespace = info.namespace;
    else if (meta.namespace !== info.namespace)
      fail(400, 'the namespace of the provided object does not match the namespace sent on the request');
  }

  private validate(def: ResourceDefinition, object: KubeObject): void {
    const name = object.metadata?.name ?? '';
    const errors = name
      ? nameErrors(name, def.nameRule)
      : [fieldError.required('metadata.name', 'name or generateName is required')];
    errors.push(...(def.validate?.(object) ?? []));
    if (errors.length === 0) return;
    const text = errors.map((e) => `${e.field}: ${e.message}`);
    fail(
      422,
      `${qualifiedKind(def)} "${name}" is invalid: ${text.length === 1 ? text[0] : `[${text.join(', ')}]`}`,
      'Invalid',
      {
        name,
        group: def.group,
        kind: def.kind,
        causes: errors.map((e) => ({ reason: e.reason, message: e.message, field: e.field })),
      },
    );
  }

  private create(
    def: ResourceDefinition,
    info: RequestInfo,
    body: unknown,
    contentType: string | undefined,
    dryRun: boolean,
  ): Reply {
    const object = this.decode(def, body, contentType);
    this.checkNamespace(def, info, object);
    const meta = object.metadata!;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomUUID().slice(0, 5)}`;
    for (const field of [
      'uid',
      'resourceVersion',
      'generation',
      'creationTimestamp',
      'deletionTimestamp',
    ] as const)
      delete meta[field];
    // With a status subresource, create ignores the status a client sends (the controller owns it).
    if (def.statusSubresource) delete object.status;
    def.defaults?.(object);
    this.validate(def, object);
    const key = this.key(def, meta.namespace, meta.name!);
    if (this.store.has(key))
      fail(409, `${qualifiedResource(def)} "${meta.name}" already exists`, 'AlreadyExists', {
        name: meta.name,
        group: def.group,
        kind: def.plural,
      });
    return { status: 201, body: this.commit(def, key, object, undefined, { dryRun }) };
  }

  /** Carries over what a write cannot change: status (or all but status, for `/status`), uid… */
  private carryOver(
    def: ResourceDefinition,
    info: RequestInfo,
    next: KubeObject,
    old: KubeObject,
  ): KubeObject {
    let result = next;
    if (info.subresource === 'status') result = { ...clone(old), status: next.status };
    else if (def.statusSubresource) {
      result = { ...next };
      if (old.status === undefined) delete result.status;
      else result.status = clone(old.status);
    }
    result.metadata = { ...(result.metadata ?? {}) };
    const meta = result.metadata;
    meta.uid = old.metadata?.uid;
    meta.creationTimestamp = old.metadata?.creationTimestamp;
    meta.generation = old.metadata?.generation;
    if (old.metadata?.deletionTimestamp) meta.deletionTimestamp = old.metadata.deletionTimestamp;
    return result;
  }

  private conflictIfStale(
    def: ResourceDefinition,
    info: RequestInfo,
    wanted: unknown,
    old: KubeObject,
  ): void {
    if (wanted === undefined || wanted === '' || wanted === old.metadata?.resourceVersion) return;
    this.conflictFail(def, info.name!);
  }

  private conflictFail(def: ResourceDefinition, name: string): never {
    throw new ApiError(conflictStatus(def, name));
  }

  private replace(
    def: ResourceDefinition,
    info: RequestInfo,
    body: unknown,
    contentType: string | undefined,
    dryRun: boolean,
  ): Reply {
    const object = this.decode(def, body, contentType);
    const bodyName = object.metadata?.name;
    if (bodyName !== info.name)
      fail(
        400,
        `the name of the object (${bodyName ?? ''}) does not match the name on the URL (${info.name})`,
        'BadRequest',
      );
    this.checkNamespace(def, info, object);
    const key = this.key(def, info.namespace, info.name!);
    const old = this.store.get(key);
    if (!old) this.notFound(def, info.name!);
    this.conflictIfStale(def, info, object.metadata?.resourceVersion, old);
    const next = this.carryOver(def, info, object, old);
    def.defaults?.(next);
    this.validate(def, next);
    return { status: 200, body: this.commit(def, key, next, old, { dryRun }) };
  }

  private patch(
    def: ResourceDefinition,
    info: RequestInfo,
    body: unknown,
    contentType: string | undefined,
    dryRun: boolean,
  ): Reply {
    const accepted: string[] = def.custom
      ? [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply]
      : [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic, PATCH_TYPES.apply];
    if (!contentType || !accepted.includes(contentType))
      fail(
        415,
        `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
        'UnsupportedMediaType',
      );
    const apply = contentType === PATCH_TYPES.apply;
    const patchOptionErrors: FieldError[] = [];
    if (apply && !info.query.fieldManager)
      patchOptionErrors.push(fieldError.required('fieldManager', 'is required for apply patch'));
    if (!apply && info.query.force !== undefined)
      patchOptionErrors.push({
        reason: 'FieldValueForbidden',
        field: 'force',
        message: 'Forbidden: may not be specified for non-apply patch',
      });
    if (patchOptionErrors.length > 0)
      fail(
        422,
        `PatchOptions.meta.k8s.io "" is invalid: ${patchOptionErrors.map((e) => `${e.field}: ${e.message}`).join(', ')}`,
        'Invalid',
        {
          group: 'meta.k8s.io',
          kind: 'PatchOptions',
          causes: patchOptionErrors,
        },
      );

    const key = this.key(def, info.namespace, info.name!);
    const old = this.store.get(key);
    if (apply) {
      const applied = this.decode(def, body, 'application/json');
      if (applied.kind === undefined || applied.apiVersion === undefined)
        fail(400, 'apply patches must carry apiVersion and kind', 'BadRequest');
      if (applied.metadata?.name !== info.name)
        fail(
          400,
          `the name of the object (${applied.metadata?.name ?? ''}) does not match the name on the URL (${info.name})`,
          'BadRequest',
        );
      this.checkNamespace(def, info, applied);
      if (!old) {
        // Apply to a missing object creates it (only for the main resource).
        if (info.subresource) this.notFound(def, info.name!);
        if (def.statusSubresource) delete applied.status;
        for (const field of ['uid', 'resourceVersion', 'generation', 'creationTimestamp'] as const)
          delete applied.metadata![field];
        def.defaults?.(applied);
        this.validate(def, applied);
        return { status: 201, body: this.commit(def, key, applied, undefined, { dryRun }) };
      }
      this.conflictIfStale(def, info, applied.metadata?.resourceVersion, old);
      // No field ownership here: the applied configuration is merged over the live object.
      const merged = applyMergePatch(old, applied) as KubeObject;
      const next = this.carryOver(def, info, merged, old);
      def.defaults?.(next);
      this.validate(def, next);
      return { status: 200, body: this.commit(def, key, next, old, { dryRun }) };
    }

    if (!old) this.notFound(def, info.name!);
    let patched: unknown;
    try {
      patched = contentType === PATCH_TYPES.json ? applyJsonPatch(old, body) : applyMergePatch(old, body);
    } catch (error) {
      if (error instanceof PatchError) fail(422, error.message, 'Invalid');
      throw error;
    }
    if (!isRecord(patched)) fail(422, 'the patch produced something that is not an object', 'Invalid');
    const next = patched as KubeObject;
    if (contentType !== PATCH_TYPES.json)
      this.conflictIfStale(def, info, rec(rec(body).metadata).resourceVersion, old);
    else this.conflictIfStale(def, info, next.metadata?.resourceVersion, old);
    if (next.metadata?.name !== info.name)
      fail(400, 'metadata.name cannot be changed by a patch', 'BadRequest');
    if (next.kind !== def.kind || next.apiVersion !== apiVersionOf(def))
      fail(400, 'apiVersion and kind cannot be changed by a patch', 'BadRequest');
    const result = this.carryOver(def, info, next, old);
    def.defaults?.(result);
    this.validate(def, result);
    return { status: 200, body: this.commit(def, key, result, old, { dryRun }) };
  }

  private delete(def: ResourceDefinition, info: RequestInfo, dryRun: boolean): Reply {
    const key = this.key(def, info.namespace, info.name!);
    const old = this.store.get(key);
    if (!old) this.notFound(def, info.name!);
    if (old.metadata?.finalizers?.length) {
      // Finalizers keep the object, marked for deletion, until a controller removes them.
      const next = clone(old);
      next.metadata!.deletionTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      return { status: 200, body: this.commit(def, key, next, old, { dryRun }) };
    }
    if (!dryRun) {
      this.store.delete(key);
      this.emit({ type: 'DELETED', object: clone(old), definition: def });
    }
    return {
      status: 200,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name: info.name, group: def.group, kind: def.plural, uid: old.metadata?.uid },
      },
    };
  }

  private forbidden(info: RequestInfo): KubeStatus {
    const who = `User "${this.user}"`;
    if (!info.resource)
      return statusObject(403, `forbidden: ${who} cannot ${info.verb} path "${info.path}"`, 'Forbidden', {});
    const group = info.group ?? '';
    const qualified = group ? `${info.resource}.${group}` : info.resource;
    const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
    const scope = info.namespace ? `in the namespace "${info.namespace}"` : 'at the cluster scope';
    const subject = info.name ? `${qualified} "${info.name}"` : qualified;
    return statusObject(
      403,
      `${subject} is forbidden: ${who} cannot ${info.verb} resource "${resource}" in API group "${group}" ${scope}`,
      'Forbidden',
      { ...(info.name ? { name: info.name } : {}), group, kind: info.resource },
    );
  }

  private injected(code: number, info: RequestInfo, message?: string): KubeStatus {
    const def = info.resource
      ? this.definitions.find((d) => d.plural === info.resource && d.group === info.group)
      : undefined;
    if (code === 403 && !message) return this.forbidden(info);
    if (code === 404 && !message && def && info.name)
      return statusObject(404, `${qualifiedResource(def)} "${info.name}" not found`, 'NotFound', {
        name: info.name,
        group: def.group,
        kind: def.plural,
      });
    if (code === 409 && !message && def && info.name) return conflictStatus(def, info.name);
    const defaults: Record<number, string> = {
      404: 'the server could not find the requested resource',
      429: 'Too many requests, please try again later.',
      500: 'Internal error occurred: injected by fake-kube',
      503: 'the server is currently unable to handle the request',
      504: 'Timeout: request did not complete within the allowed duration',
    };
    return statusObject(
      code,
      message ?? defaults[code] ?? `injected ${code}`,
      undefined,
      info.name ? { name: info.name } : {},
    );
  }

  private conflict(info: RequestInfo): KubeStatus {
    return this.injected(409, info);
  }
}

/** storage's optimistic-lock failure, as `NewConflict` words it. */
function conflictStatus(def: ResourceDefinition, name: string): KubeStatus {
  return statusObject(
    409,
    `Operation cannot be fulfilled on ${qualifiedResource(def)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    'Conflict',
    { name, group: def.group, kind: def.plural },
  );
}

function verbMatches(verbs: VerbMatch, verb: Verb): boolean {
  if (verbs === '*') return true;
  return Array.isArray(verbs) ? verbs.includes(verb) : verbs === verb;
}

function matchesTarget(target: RequestTarget | undefined, info: RequestInfo): boolean {
  if (target === undefined) return true;
  if (typeof target === 'function') return target(info);
  if (target instanceof RegExp) return target.test(info.path);
  if (target.startsWith('/')) {
    const prefix = target.replace(/\/$/, '');
    return info.path === prefix || info.path.startsWith(`${prefix}/`);
  }
  if (!info.resource) return false;
  const group = info.group ?? '';
  const names = [
    info.resource,
    `${group}/${info.resource}`,
    `${info.resource}.${group}`,
    info.kind ?? '',
    info.subresource ? `${info.resource}/${info.subresource}` : '',
  ];
  return names.includes(target);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
