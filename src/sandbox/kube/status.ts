/** Errors as the API answers them: a `Status` body, thrown as ApiError while a request is handled. */
import { qualifiedResource } from './kinds.js';
import type { KubeStatus, ResourceDefinition } from './types.js';

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

export class ApiError extends Error {
  constructor(readonly status: KubeStatus) {
    super(status.message);
  }
}

export function fail(code: number, message: string, reason?: string, details?: KubeStatus['details']): never {
  throw new ApiError(statusObject(code, message, reason, details));
}

/** storage's optimistic-lock failure, as `NewConflict` words it. */
export function conflictStatus(def: ResourceDefinition, name: string): KubeStatus {
  return statusObject(
    409,
    `Operation cannot be fulfilled on ${qualifiedResource(def)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    'Conflict',
    { name, group: def.group, kind: def.plural },
  );
}
