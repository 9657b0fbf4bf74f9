import type { TrafficTarget } from '../../deployments/model.js';

/**
 * `/deploy …` text to a request. Pure and fast: it runs before `ack()`, so a typo gets its answer in the
 * acknowledgement itself.
 */

export type DeployRequest =
  | { type: 'start'; service: string; version: string; checklistId?: string }
  | { type: 'status'; service?: string }
  /** A service's latest deployment, or one deployment by id; none: the channel's service's latest. */
  | { type: 'report'; target?: string }
  | { type: 'history'; service: string }
  | { type: 'abort'; service: string; reason: string }
  | { type: 'traffic'; service: string; target: TrafficTarget }
  | { type: 'rollback'; service: string; reason?: string }
  | { type: 'pause'; service: string }
  | { type: 'resume'; service: string }
  | { type: 'help' }
  | { type: 'invalid'; message: string };

/** Every subcommand `/deploy` takes: the parser dispatches on exactly these (help, the manifest and README list them). */
export const DEPLOY_SUBCOMMANDS = [
  'start',
  'status',
  'report',
  'history',
  'traffic',
  'rollback',
  'pause',
  'resume',
  'abort',
  'help',
] as const;
export type DeploySubcommand = (typeof DEPLOY_SUBCOMMANDS)[number];

function isSubcommand(word: string): word is DeploySubcommand {
  return (DEPLOY_SUBCOMMANDS as readonly string[]).includes(word);
}

export const USAGE = [
  '*Usage*',
  '`/deploy start <service> <version> [checklist]` — open a deployment thread and walk its checklist',
  '`/deploy status [service]` — active deployments and follow-ups due next, or one service’s current deployment',
  '`/deploy report [service|deployment-id]` — the deployment report as Markdown (default: this channel’s latest)',
  '`/deploy history <service>` — the service’s last 10 deployments: version, outcome, duration, who',
  '`/deploy traffic <service> <percent|blue|green>` — shift traffic (100% and slot switches ask first)',
  '`/deploy rollback <service> [reason]` — roll back the active deployment (asks first)',
  '`/deploy pause <service>` / `/deploy resume <service>` — hold or continue the checklist',
  '`/deploy abort <service> <reason>` — stop the active deployment (requester or deployers)',
  '`/deploy help` — this message',
].join('\n');

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,79}$/;
/** Image tags, semver with pre-release/build, git SHAs, "v"-prefixed: no spaces, no Slack markup. */
const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

export function parseDeployCommand(text: string): DeployRequest {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [word, ...args] = words;
  if (word === undefined) return { type: 'help' };
  const sub = word.toLowerCase();
  if (!isSubcommand(sub)) return invalid(`Unknown subcommand "${word}".`);
  switch (sub) {
    case 'help':
      return { type: 'help' };
    case 'start':
      return parseStart(args);
    case 'status':
      if (args.length > 1) return invalid('`status` takes at most one service name.');
      if (args[0] && !NAME_RE.test(args[0])) return invalid(`"${args[0]}" is not a service name.`);
      return args[0] ? { type: 'status', service: args[0] } : { type: 'status' };
    case 'report':
      if (args.length > 1) return invalid('`report` takes at most one service name or deployment id.');
      if (args[0] && !NAME_RE.test(args[0]))
        return invalid(`"${args[0]}" is not a service name or deployment id.`);
      return args[0] ? { type: 'report', target: args[0] } : { type: 'report' };
    case 'history':
      if (!args[0]) return invalid('`history` needs a service, e.g. `/deploy history checkout`.');
      if (args.length > 1) return invalid('`history` takes one service name.');
      if (!NAME_RE.test(args[0])) return invalid(`"${args[0]}" is not a service name.`);
      return { type: 'history', service: args[0] };
    case 'abort': {
      const [service, ...reason] = args;
      if (!service) return invalid('`abort` needs a service and a reason.');
      if (!NAME_RE.test(service)) return invalid(`"${service}" is not a service name.`);
      if (reason.length === 0)
        return invalid('`abort` needs a reason, e.g. `/deploy abort checkout wrong build`.');
      return { type: 'abort', service, reason: reason.join(' ') };
    }
    case 'traffic': {
      const [service, where, ...extra] = args;
      if (!service || !where)
        return invalid('`traffic` needs a service and a target, e.g. `/deploy traffic checkout 50`.');
      if (!NAME_RE.test(service)) return invalid(`"${service}" is not a service name.`);
      const target = parseTarget(where);
      if (!target || extra.length > 0)
        return invalid(
          `"${[where, ...extra].join(' ')}" is not a target: use a percentage (0–100), blue or green.`,
        );
      return { type: 'traffic', service, target };
    }
    case 'rollback': {
      const [service, ...reason] = args;
      if (!service)
        return invalid('`rollback` needs a service, e.g. `/deploy rollback checkout error rate up`.');
      if (!NAME_RE.test(service)) return invalid(`"${service}" is not a service name.`);
      return reason.length > 0
        ? { type: 'rollback', service, reason: reason.join(' ') }
        : { type: 'rollback', service };
    }
    case 'pause':
    case 'resume': {
      const [service, ...extra] = args;
      if (!service || extra.length > 0) return invalid(`\`${sub}\` takes one service name.`);
      if (!NAME_RE.test(service)) return invalid(`"${service}" is not a service name.`);
      return { type: sub, service };
    }
    default:
      return sub satisfies never;
  }
}

function parseStart(args: string[]): DeployRequest {
  const [service, version, checklistId, ...extra] = args;
  if (!service) return invalid('`start` needs a service and a version, e.g. `/deploy start checkout 1.4.2`.');
  if (!NAME_RE.test(service)) return invalid(`"${service}" is not a service name.`);
  if (!version) return invalid(`\`start\` needs a version: \`/deploy start ${service} <version>\`.`);
  if (!VERSION_RE.test(version))
    return invalid(`"${version}" is not a version (letters, digits, ".", "_", "+", "-"; at most 64).`);
  if (checklistId !== undefined && !NAME_RE.test(checklistId))
    return invalid(`"${checklistId}" is not a checklist id.`);
  if (extra.length > 0) return invalid(`Unexpected "${extra.join(' ')}" after the checklist.`);
  return checklistId ? { type: 'start', service, version, checklistId } : { type: 'start', service, version };
}

function invalid(message: string): DeployRequest {
  return { type: 'invalid', message };
}

/** `50`, `50%`, `blue`, `green` -> where traffic should go; anything else is not a target. */
export function parseTarget(text: string): TrafficTarget | undefined {
  const lowered = text.trim().toLowerCase();
  if (lowered === 'blue' || lowered === 'green') return { slot: lowered };
  const match = /^(\d{1,3})%?$/.exec(lowered);
  if (!match) return undefined;
  const weight = Number(match[1]);
  return weight <= 100 ? { weight } : undefined;
}
