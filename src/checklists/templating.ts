/**
 * `{{service}}`-style placeholders in checklist strings, filled from the deployment and the service's
 * catalogue entry when a deployment starts. Unknown names are refused when a checklist is validated, and
 * a known name without a value is refused when a deployment starts, so nothing reaches Slack unfilled.
 */

const PLACEHOLDER_RE = /\{\{\s*([a-zA-Z0-9_.-]+)\s*\}\}/g;

/** Names a checklist may use; `links.*`, `kubernetes.*` and `vars.*` come from the catalogue entry. */
const KNOWN_NAME_RE =
  /^(service|version|environment|namespace|channel|prometheus_url|health_url|base_url|(links|kubernetes|vars)\.[a-zA-Z0-9_-]+)$/;

export type TemplateValues = Readonly<Record<string, string | undefined>>;

export function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER_RE)].map((match) => match[1] as string);
}

export function isKnownPlaceholder(name: string): boolean {
  return KNOWN_NAME_RE.test(name);
}

export class MissingTemplateValues extends Error {
  constructor(readonly names: string[]) {
    super(`no value for ${names.map((name) => `{{${name}}}`).join(', ')}`);
  }
}

/** Fills every string in a JSON-like value; throws MissingTemplateValues naming every unfilled name. */
export function fillTemplates<T>(value: T, values: TemplateValues): T {
  const missing = new Set<string>();
  const filled = walk(value, (text) =>
    text.replace(PLACEHOLDER_RE, (whole, name: string) => {
      const replacement = values[name];
      if (replacement === undefined) {
        missing.add(name);
        return whole;
      }
      return replacement;
    }),
  );
  if (missing.size > 0) throw new MissingTemplateValues([...missing].sort());
  return filled as T;
}

/** Calls `visit` on every string in a JSON-like value, returning a copy with the results. */
export function walk(value: unknown, visit: (text: string, path: string) => string, path = ''): unknown {
  if (typeof value === 'string') return visit(value, path);
  if (Array.isArray(value)) return value.map((entry, index) => walk(entry, visit, `${path}[${index}]`));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, entry]) => [key, walk(entry, visit, path ? `${path}.${key}` : key)]),
    );
  }
  return value;
}
