import { randomUUID } from 'node:crypto';
import { fieldError, nameErrors } from './field-errors.js';
import { clone, isRecord, rec } from './json.js';
import { apiVersionOf, qualifiedKind, qualifiedResource } from './kinds.js';
import type { ObjectStore } from './object-store.js';
import { applyJsonPatch, applyMergePatch, PatchError } from './patches.js';
import type { Route } from './routes.js';
import { fieldSelectorMatches, labelsMatch, parseLabelSelector, SelectorError } from './selectors.js';
import { ApiError, conflictStatus, fail } from './status.js';
import type { FieldError, KubeObject, RequestInfo, ResourceDefinition } from './types.js';

export interface Reply {
  status: number;
  body: unknown;
}

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/**
 * The API's verbs on the object store: get, list (selectors, paging), create, update, the four kinds of
 * patch and delete, with validation, `dryRun=All`, resourceVersion conflicts and the server's errors.
 */
export class ApiHandlers {
  constructor(private readonly store: ObjectStore) {}

  /** Answers a routed request, or throws ApiError with the Status to answer. */
  dispatch(route: Route, body: unknown, contentType: string | undefined): Reply {
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
    const found = this.store.find(this.store.key(def, info.namespace, info.name!));
    if (!found) this.notFound(def, info.name!);
    return clone(found);
  }

  private listReply(def: ResourceDefinition, info: RequestInfo) {
    let items = this.store.objectsOf(def, info.namespace);
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
        resourceVersion: this.store.resourceVersion,
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
    const key = this.store.key(def, meta.namespace, meta.name!);
    if (this.store.has(key))
      fail(409, `${qualifiedResource(def)} "${meta.name}" already exists`, 'AlreadyExists', {
        name: meta.name,
        group: def.group,
        kind: def.plural,
      });
    return { status: 201, body: this.store.commit(def, key, object, undefined, { dryRun }) };
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
    const key = this.store.key(def, info.namespace, info.name!);
    const old = this.store.find(key);
    if (!old) this.notFound(def, info.name!);
    this.conflictIfStale(def, info, object.metadata?.resourceVersion, old);
    const next = this.carryOver(def, info, object, old);
    def.defaults?.(next);
    this.validate(def, next);
    return { status: 200, body: this.store.commit(def, key, next, old, { dryRun }) };
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

    const key = this.store.key(def, info.namespace, info.name!);
    const old = this.store.find(key);
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
        return { status: 201, body: this.store.commit(def, key, applied, undefined, { dryRun }) };
      }
      this.conflictIfStale(def, info, applied.metadata?.resourceVersion, old);
      // No field ownership here: the applied configuration is merged over the live object.
      const merged = applyMergePatch(old, applied) as KubeObject;
      const next = this.carryOver(def, info, merged, old);
      def.defaults?.(next);
      this.validate(def, next);
      return { status: 200, body: this.store.commit(def, key, next, old, { dryRun }) };
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
    return { status: 200, body: this.store.commit(def, key, result, old, { dryRun }) };
  }

  private delete(def: ResourceDefinition, info: RequestInfo, dryRun: boolean): Reply {
    const key = this.store.key(def, info.namespace, info.name!);
    const old = this.store.find(key);
    if (!old) this.notFound(def, info.name!);
    if (old.metadata?.finalizers?.length) {
      // Finalizers keep the object, marked for deletion, until a controller removes them.
      const next = clone(old);
      next.metadata!.deletionTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      return { status: 200, body: this.store.commit(def, key, next, old, { dryRun }) };
    }
    if (!dryRun) this.store.drop(def, key);
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
}
