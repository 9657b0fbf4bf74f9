/** Label and field selectors: apimachinery's `labels.Parse` grammar and matching rules. */
import { rec } from './json.js';
import type { KubeObject } from './types.js';

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
export function selectorMatches(selector: Record<string, unknown>, labels: Record<string, string>): boolean {
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

export function isEmptySelector(selector: Record<string, unknown>): boolean {
  const labels = Object.keys(rec(selector.matchLabels)).length;
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions.length : 0;
  return labels + expressions === 0;
}

export function fieldSelectorMatches(selector: string, object: KubeObject): boolean {
  if (selector.trim() === '') return true;
  return selector.split(',').every((part) => {
    const match = part.trim().match(/^([^=!]+?)\s*(==|=|!=)\s*(.*)$/);
    if (!match) throw new SelectorError(`invalid selector: '${part}'; can't understand '${part}'`);
    const actual = match[1]!.split('.').reduce<unknown>((value, key) => rec(value)[key], object);
    const equal = String(actual ?? '') === match[3];
    return match[2] === '!=' ? !equal : equal;
  });
}
