/** Injected faults: which requests one applies to, and the Status it answers with. */
import { qualifiedResource } from './kinds.js';
import { conflictStatus, statusObject } from './status.js';
import type { KubeStatus, RequestInfo, RequestTarget, ResourceDefinition, Verb, VerbMatch } from './types.js';

export interface Fault {
  verbs: VerbMatch;
  target?: RequestTarget;
  remaining: number;
  respond: (info: RequestInfo) => KubeStatus | 'reset';
  /** Carry the request out first, then answer with `respond`: the change is stored, its answer lost. */
  applyFirst?: boolean;
}

export function verbMatches(verbs: VerbMatch, verb: Verb): boolean {
  if (verbs === '*') return true;
  return Array.isArray(verbs) ? verbs.includes(verb) : verbs === verb;
}

export function matchesTarget(target: RequestTarget | undefined, info: RequestInfo): boolean {
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

/** RBAC's wording for a refused request. */
export function forbiddenStatus(user: string, info: RequestInfo): KubeStatus {
  const who = `User "${user}"`;
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

/** What an injected failure answers: the real server's wording for the code, unless a message is given. */
export function injectedStatus(
  definitions: readonly ResourceDefinition[],
  user: string,
  code: number,
  info: RequestInfo,
  message?: string,
): KubeStatus {
  const def = info.resource
    ? definitions.find((d) => d.plural === info.resource && d.group === info.group)
    : undefined;
  if (code === 403 && !message) return forbiddenStatus(user, info);
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
