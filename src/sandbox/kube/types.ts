/** The fake Kubernetes API's shapes: objects, Status, resource definitions, requests and change events. */

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
