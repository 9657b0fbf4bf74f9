import { randomUUID } from 'node:crypto';
import { clone, sortKeys } from './json.js';
import { apiVersionOf, BUILT_IN } from './kinds.js';
import type { ChangeEvent, KubeObject, ObjectRef, ResourceDefinition } from './types.js';

/**
 * The fake's objects in memory: every stored version, change listeners, and the resource definitions they
 * follow. Writes stamp metadata (uid, creationTimestamp, resourceVersion, generation on spec changes) and
 * apply the kind's defaults; validation belongs to the API (ApiHandlers), not to the store.
 */
export class ObjectStore {
  private readonly kinds: ResourceDefinition[] = [...BUILT_IN];
  private readonly objects = new Map<string, KubeObject>();
  private readonly versions = new Map<string, KubeObject[]>();
  private readonly listeners = new Set<(event: ChangeEvent) => void>();
  private revision = 1000;

  /** The resources served, in registration order. */
  get definitions(): readonly ResourceDefinition[] {
    return this.kinds;
  }

  /** The latest write's resourceVersion (what a list answers with). */
  get resourceVersion(): string {
    return String(this.revision);
  }

  /** Serves another resource (typically a custom resource such as `HTTPROUTE`), discovery included. */
  register(definition: ResourceDefinition): void {
    const existing = this.kinds.findIndex(
      (d) =>
        d.group === definition.group && d.version === definition.version && d.plural === definition.plural,
    );
    if (existing >= 0) this.kinds[existing] = definition;
    else this.kinds.push(definition);
  }

  resources(): ResourceDefinition[] {
    return [...this.kinds];
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
    return this.commit(def, key, next, this.objects.get(key), { keepGeneration: true }) as T;
  }

  get<T extends object = KubeObject>(ref: ObjectRef): T | undefined {
    const { key } = this.resolve(ref);
    const found = this.objects.get(key);
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
    const old = this.objects.get(key);
    if (!old)
      throw new Error(`fake-kube update: ${typeof ref === 'string' ? ref : JSON.stringify(ref)} not found`);
    const next = clone(old);
    mutate(next as T);
    return this.commit(def, key, next, old, { keepGeneration: true }) as T;
  }

  remove(ref: ObjectRef): boolean {
    const { def, key } = this.resolve(ref);
    return this.drop(def, key);
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

  // ----- what the API handlers build on -----

  /** Where an object is kept: `group/plural/namespace/name`. */
  key(def: ResourceDefinition, namespace: string | undefined, name: string): string {
    return `${def.group}/${def.plural}/${def.namespaced ? (namespace ?? '') : ''}/${name}`;
  }

  definitionFor(apiVersion: string | undefined, kind: string | undefined): ResourceDefinition {
    if (!kind) throw new Error('fake-kube: object without kind');
    const lower = kind.toLowerCase();
    const group = apiVersion?.includes('/') ? apiVersion.split('/')[0] : apiVersion ? '' : undefined;
    const found = this.kinds.find(
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

  resolve(ref: ObjectRef): { def: ResourceDefinition; key: string } {
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

  objectsOf(def: ResourceDefinition, namespace?: string): KubeObject[] {
    const prefix = `${def.group}/${def.plural}/`;
    return [...this.objects.entries()]
      .filter(([key, o]) => key.startsWith(prefix) && (!namespace || o.metadata?.namespace === namespace))
      .map(([, o]) => o)
      .sort((a, b) =>
        `${a.metadata?.namespace ?? ''}/${a.metadata?.name}`.localeCompare(
          `${b.metadata?.namespace ?? ''}/${b.metadata?.name}`,
        ),
      );
  }

  /** Stamps metadata, applies defaults and (unless a dry run) stores, records and announces. */
  commit(
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
    this.objects.set(key, stored);
    const versions = this.versions.get(key) ?? [];
    versions.push(clone(stored));
    this.versions.set(key, versions);
    this.emit({ type: old ? 'MODIFIED' : 'ADDED', object: clone(stored), old: clone(old), definition: def });
    return clone(stored);
  }

  private emit(event: ChangeEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /** The stored object itself (callers clone what they hand out). */
  find(key: string): KubeObject | undefined {
    return this.objects.get(key);
  }

  has(key: string): boolean {
    return this.objects.has(key);
  }

  /** Removes a stored object and announces it; false when there was none. */
  drop(def: ResourceDefinition, key: string): boolean {
    const old = this.objects.get(key);
    if (!old) return false;
    this.objects.delete(key);
    this.emit({ type: 'DELETED', object: clone(old), definition: def });
    return true;
  }

  /** Empties objects, history and listeners; registered resources stay. */
  clear(): void {
    this.objects.clear();
    this.versions.clear();
    this.listeners.clear();
  }
}

/** What generation tracks: everything but metadata and status. */
function specFingerprint(object: KubeObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = object;
  return JSON.stringify(sortKeys(rest));
}
