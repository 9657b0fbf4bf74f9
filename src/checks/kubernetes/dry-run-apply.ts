import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, resolve } from 'node:path';
import { ApiException, type KubernetesObject, loadAllYaml, PatchStrategy } from '@kubernetes/client-node';
import type { KubeClients } from '../../kube/client.js';
import type { CheckContext, CheckResult } from '../types.js';
import { ObjectsApi, statusMessage } from './api.js';
import type { Spec } from './spec.js';
import { clip, DETAIL_MAX, firstLine, messageOf, plural } from './summary.js';

/** `dry-run-apply`: manifests (files or directories) accepted by a server-side dry run. */

/** Fields set by our server-side apply (the dry run stores nothing, but the server wants a manager). */
const FIELD_MANAGER = 'flightdeck';

class ManifestError extends Error {}

interface Manifest {
  file: string;
  object: KubernetesObject;
}

export async function dryRunApply(
  spec: Spec<'dry-run-apply'>,
  clients: KubeClients,
  namespace: string,
  context: CheckContext,
): Promise<CheckResult> {
  const base = context.manifestsDir ?? process.cwd();
  let manifests: Manifest[];
  try {
    manifests = [];
    for (const path of spec.manifests) manifests.push(...(await readManifests(base, path)));
  } catch (error) {
    if (error instanceof ManifestError) return { outcome: 'failed', summary: clip(error.message) };
    return { outcome: 'error', summary: clip(`cannot read manifests: ${messageOf(error)}`) };
  }
  if (manifests.length === 0)
    return { outcome: 'failed', summary: clip(`no Kubernetes objects in ${spec.manifests.join(', ')}`) };

  const objects = ObjectsApi.forRun(clients.config, context.signal);
  const rejected: string[] = [];
  for (const { file, object } of manifests) {
    const label = `${object.kind} ${object.metadata?.name ?? '(no name)'}`;
    const resource = await objects.served(object.apiVersion ?? '', object.kind ?? '');
    if (!resource) {
      rejected.push(
        `${label} (${file}): no matches for kind "${object.kind}" in version "${object.apiVersion}"`,
      );
      continue;
    }
    const target = structuredClone(object);
    target.metadata ??= {};
    if (resource.namespaced && !target.metadata.namespace) target.metadata.namespace = namespace;
    try {
      // force: ownership conflicts with other field managers are not what this check is about.
      await objects.patch(target, undefined, 'All', FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    } catch (error) {
      const code = error instanceof ApiException ? error.code : 0;
      if (code >= 400 && code < 500 && code !== 401 && code !== 403) {
        rejected.push(`${label} (${file}): ${statusMessage(error) ?? `HTTP ${code}`}`);
        continue;
      }
      throw error;
    }
  }
  if (rejected.length === 0)
    return {
      outcome: 'passed',
      summary: `${plural(manifests.length, 'object')} accepted by server-side dry run`,
      value: manifests.length,
      unit: 'number',
    };
  const head =
    rejected.length === 1 && manifests.length === 1
      ? 'rejected by server-side dry run: '
      : `${rejected.length} of ${plural(manifests.length, 'object')} rejected by server-side dry run: `;
  return {
    outcome: 'failed',
    summary: clip(`${head}${rejected[0]}`),
    detail: clip(rejected.join('\n'), DETAIL_MAX),
    value: manifests.length - rejected.length,
    unit: 'number',
  };
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** A file, or a directory's .yaml/.yml/.json files (not recursive, sorted — as `kubectl apply -f dir`). */
async function readManifests(base: string, path: string): Promise<Manifest[]> {
  const absolute = resolve(base, path);
  const files = (await stat(absolute)).isDirectory()
    ? (await readdir(absolute, { withFileTypes: true }))
        .filter((entry) => entry.isFile() && MANIFEST_EXTENSIONS.has(extname(entry.name)))
        .map((entry) => join(absolute, entry.name))
        .sort()
    : [absolute];
  const manifests: Manifest[] = [];
  for (const file of files) {
    const shown = relative(base, file) || path;
    const text = await readFile(file, 'utf8');
    let documents: unknown[];
    try {
      documents = loadAllYaml(text);
    } catch (error) {
      throw new ManifestError(`${shown}: not valid YAML: ${firstLine(messageOf(error))}`);
    }
    documents.forEach((document, index) => {
      if (document === null || document === undefined) return; // empty documents between `---`
      for (const object of expandLists(document)) {
        if (
          typeof object !== 'object' ||
          object === null ||
          typeof object.apiVersion !== 'string' ||
          typeof object.kind !== 'string'
        )
          throw new ManifestError(`${shown}: document ${index + 1} has no apiVersion or kind`);
        manifests.push({ file: shown, object });
      }
    });
  }
  return manifests;
}

function expandLists(document: unknown): KubernetesObject[] {
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    return [document as KubernetesObject];
  const object = document as KubernetesObject & { items?: unknown[] };
  if (object.kind?.endsWith('List') && Array.isArray(object.items)) return object.items as KubernetesObject[];
  return [object];
}
