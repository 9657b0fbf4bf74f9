/** The API's paths: core `/api/v1/...`, groups `/apis/<group>/<version>/...`, namespaces, `/status`, discovery. */
import { fail } from './status.js';
import type { RequestInfo, ResourceDefinition } from './types.js';

/** A routed request: discovery to answer, or a resource definition and what is asked of it. */
export interface Route {
  discovery?: () => unknown;
  def?: ResourceDefinition;
  info: RequestInfo;
}

/** Maps a request to discovery or to a resource (and its verb); 404/405 as the real server answers them. */
export function routeRequest(
  definitions: readonly ResourceDefinition[],
  method: string,
  pathname: string,
  query: Record<string, string>,
): Route {
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
    if (parts.length === 1) return { info, discovery: () => groupList(definitions) };
    const name = parts[1]!;
    if (parts.length === 2) {
      const found = groupList(definitions).groups.find((g) => g.name === name);
      if (!found) notFound();
      return { info, discovery: () => ({ kind: 'APIGroup', apiVersion: 'v1', ...found }) };
    }
    group = name;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return notFound();

  info.group = group;
  info.version = version;
  const served = definitions.filter((d) => d.group === group && d.version === version);
  if (served.length === 0) notFound();
  if (rest.length === 0) {
    if (method !== 'GET') fail(405, `the server does not allow this method on the requested resource`);
    return { info, discovery: () => resourceList(definitions, group, version) };
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

function groupList(definitions: readonly ResourceDefinition[]) {
  const groups = new Map<string, string[]>();
  for (const d of definitions) {
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

function resourceList(definitions: readonly ResourceDefinition[], group: string, version: string) {
  const resources = definitions
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
