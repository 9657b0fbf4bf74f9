/** JSON Patch (RFC 6902) and JSON merge patch (RFC 7386); strategic merge and apply are served as merge. */
import { clone, isRecord, rec, sortKeys } from './json.js';

export class PatchError extends Error {}

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
