import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Document, LineCounter } from 'yaml';
import { loadChecklists } from '../checklists/loader.js';
import { ANYONE } from '../checklists/owners.js';
import { allPhases } from '../checklists/phases.js';
import type { Checklist } from '../checklists/schema.js';
import { fillTemplates, MissingTemplateValues } from '../checklists/templating.js';
import { templateValues } from '../deployments/service.js';
import { lineOf, type Problem, problemsFromZod } from '../shared/problems.js';
import { parseYaml } from '../shared/yaml-syntax.js';
import { type Env, envSchema, pickEnv } from './env.js';
import { type FileConfig, fileConfigSchema } from './schema.js';

/**
 * Everything the bot needs to start, validated together: environment, flightdeck.yaml and every checklist,
 * plus the checks that span them (a service's checklist exists, every role a checklist names is defined,
 * every placeholder a service's checklists use has a value). All problems come back at once.
 */

export interface Config {
  env: Env;
  file: FileConfig;
  /** Where flightdeck.yaml was read from. */
  path: string;
  checklists: Map<string, Checklist>;
  /** How the bot talks to Slack. */
  slackMode: 'http' | 'socket';
}

export type ConfigResult =
  | { ok: true; config: Config }
  | { ok: false; problems: Problem[]; missingCredentials: string[] };

/** `worker` processes need no signing secret or app token: they only post and update messages. */
export async function loadConfig(
  source: NodeJS.ProcessEnv = process.env,
  mode: 'bot' | 'worker' = 'bot',
): Promise<ConfigResult> {
  const problems: Problem[] = [];
  const picked = pickEnv(source);
  const parsedEnv = envSchema.safeParse(picked);
  if (!parsedEnv.success) {
    problems.push(...problemsFromZod(parsedEnv.error, 'env'));
    // Carry on with the valid variables (e.g. FLIGHTDECK_CONFIG) so the file's problems are reported too.
    for (const issue of parsedEnv.error.issues) delete picked[String(issue.path[0])];
  }
  const env = parsedEnv.success ? parsedEnv.data : envSchema.parse(picked);
  const missingCredentials = missingSlackCredentials(env, mode);
  const path = resolve(env.FLIGHTDECK_CONFIG);
  const { file, located, checklistsDir } = await loadFileConfig(path, problems);
  let checklists = new Map<string, Checklist>();
  // Checklists are checked even when flightdeck.yaml has problems, so one run reports everything.
  if (checklistsDir !== undefined) {
    const dir = isAbsolute(checklistsDir) ? checklistsDir : resolve(dirname(path), checklistsDir);
    const loaded = await loadChecklists({ dir }).catch((error: Error) => {
      problems.push({
        source: path,
        path: 'checklists_dir',
        message: `cannot read ${dir}: ${error.message}`,
      });
      return undefined;
    });
    if (loaded) {
      problems.push(...loaded.problems);
      checklists = loaded.checklists;
      if (file) problems.push(...crossCheck(file, checklists, loaded.files, path, located));
    }
  }

  if (problems.length > 0 || !file || missingCredentials.length > 0)
    return { ok: false, problems, missingCredentials };
  return {
    ok: true,
    config: { env, file, path, checklists, slackMode: env.SLACK_APP_TOKEN ? 'socket' : 'http' },
  };
}

/** HTTP mode needs the bot token and signing secret; Socket Mode the bot token and app token. */
function missingSlackCredentials(env: Env, mode: 'bot' | 'worker'): string[] {
  const missing: string[] = [];
  if (!env.SLACK_BOT_TOKEN) missing.push('SLACK_BOT_TOKEN');
  if (mode === 'bot' && !env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET)
    missing.push('SLACK_SIGNING_SECRET');
  return missing;
}

interface Located {
  doc: Document;
  lines: LineCounter;
}

async function loadFileConfig(
  path: string,
  problems: Problem[],
): Promise<{ file?: FileConfig; located?: Located; checklistsDir?: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    problems.push({
      source: path,
      path: '',
      message: `cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'}); set FLIGHTDECK_CONFIG or copy the example flightdeck.yaml`,
    });
    return {};
  }
  const yaml = parseYaml(text, path);
  if (!yaml.ok) {
    problems.push(...yaml.problems);
    return {};
  }
  const { doc, lines } = yaml;
  const raw = yaml.raw as { checklists_dir?: unknown } | null;
  const parsed = fileConfigSchema.safeParse(raw);
  if (!parsed.success) {
    problems.push(...problemsFromZod(parsed.error, path, { doc, lines, text }));
    const dir = raw?.checklists_dir;
    return { checklistsDir: typeof dir === 'string' ? dir : 'checklists' };
  }
  // Paths in the file are relative to the file, wherever the bot was started from.
  for (const service of Object.values(parsed.data.services)) {
    if (service.manifests_dir && !isAbsolute(service.manifests_dir)) {
      service.manifests_dir = resolve(dirname(path), service.manifests_dir);
    }
  }
  return { file: parsed.data, located: { doc, lines }, checklistsDir: parsed.data.checklists_dir };
}

function crossCheck(
  file: FileConfig,
  checklists: Map<string, Checklist>,
  files: Map<string, string>,
  path: string,
  located: Located | undefined,
): Problem[] {
  const problems: Problem[] = [];
  const at = (keys: Array<string | number>, message: string): Problem => ({
    source: path,
    path: keys
      .map((key) => (typeof key === 'number' ? `[${key}]` : key))
      .join('.')
      .replaceAll('.[', '['),
    message,
    ...(located ? { line: lineOf(located.doc, located.lines, keys) } : {}),
  });
  const roles = new Set(Object.keys(file.roles));

  for (const [name, service] of Object.entries(file.services)) {
    const usable = [service.checklist, ...service.checklists];
    usable.forEach((checklistId, index) => {
      const keys =
        index === 0 ? ['services', name, 'checklist'] : ['services', name, 'checklists', index - 1];
      const checklist = checklists.get(checklistId);
      if (!checklist) {
        problems.push(
          at(
            keys,
            `no checklist "${checklistId}" (have: ${[...checklists.keys()].sort().join(', ') || 'none'})`,
          ),
        );
        return;
      }
      try {
        fillTemplates(checklist, templateValues(name, '0.0.0', service));
      } catch (error) {
        if (!(error instanceof MissingTemplateValues)) throw error;
        problems.push(
          at(
            keys,
            `checklist "${checklistId}" uses ${error.names.map((n) => `{{${n}}}`).join(', ')}, which this service does not define`,
          ),
        );
      }
    });
    service.deployers.forEach((role, index) => {
      if (role !== ANYONE && !roles.has(role))
        problems.push(at(['services', name, 'deployers', index], `no role "${role}" under roles:`));
    });
  }

  // The built-in default chain (owner, then on-call) is not checked: without an on-call role its level
  // calls the deployers. A chain written here must name real roles.
  if (located?.doc.has('escalation')) {
    file.escalation.levels.forEach((level, index) => {
      if (level.notify !== 'owner' && !roles.has(level.notify))
        problems.push(
          at(['escalation', 'levels', index, 'notify'], `no role "${level.notify}" under roles:`),
        );
    });
  }
  problems.push(...checklistRoleProblems(checklists, files, roles, path));
  return problems;
}

/** Every owner, sign-off or escalation role a checklist names must be defined under `roles:`. */
export function checklistRoleProblems(
  checklists: ReadonlyMap<string, Checklist>,
  files: ReadonlyMap<string, string>,
  roles: ReadonlySet<string>,
  configPath: string,
): Problem[] {
  const problems: Problem[] = [];
  for (const [id, checklist] of checklists) {
    const source = files.get(id) ?? id;
    const index = { phases: 0, rollback: 0, procedures: 0 };
    for (const { phase, section } of allPhases(checklist)) {
      const phasePath =
        section === 'rollback' ? `rollback.phases[${index.rollback}]` : `${section}[${index[section]}]`;
      index[section]++;
      phase.items.forEach((item, itemIndex) => {
        const named: Array<[string | undefined, string]> =
          item.kind === 'signoff'
            ? [
                [item.signoff.role, 'signoff.role'],
                [item.signoff.waivable_by, 'signoff.waivable_by'],
              ]
            : [[item.owner, 'owner']];
        for (const [role, field] of named) {
          if (role && role !== ANYONE && !roles.has(role)) {
            problems.push({
              source,
              path: `${phasePath}.items[${itemIndex}].${field}`,
              message: `role "${role}" is not defined under roles: in ${configPath}`,
            });
          }
        }
      });
    }
    checklist.escalation?.levels.forEach((level, index) => {
      if (level.notify !== 'owner' && !roles.has(level.notify)) {
        problems.push({
          source,
          path: `escalation.levels[${index}].notify`,
          message: `role "${level.notify}" is not defined under roles: in ${configPath}`,
        });
      }
    });
  }
  return problems;
}
