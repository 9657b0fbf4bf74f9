import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { type Config, loadConfig } from '../config/load.js';
import type { FileConfig, ServiceConfig } from '../config/schema.js';
import { type Flightdeck, startFlightdeck } from '../flightdeck.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { formatDuration } from '../shared/duration.js';
import type { Problem } from '../shared/problems.js';
import { type AvailableRedis, ensureRedis } from './infra/redis-server.js';
import { HEALTHY, type SimulatedInfra, startSimulatedInfra } from './infra/simulated-infra.js';
import { prometheusInstalled, promtoolInstalled } from './metrics/prometheus.js';
import { FakeSlack } from './slack/fake-slack.js';
import { SlackDriver } from './slack/slack-driver.js';
import {
  type IncidentAction,
  type IncidentState,
  type Person,
  startWebServer,
  type WebServer,
  type Workspace,
} from './web/web-server.js';

/**
 * The sandbox: Flightdeck without a Slack workspace or a cluster. The real bot (`startFlightdeck`, HTTP
 * mode, workers in-process) runs against the Slack emulator (FakeSlack), real Redis (the one at
 * REDIS_URL, else a private redis-server), a simulated cluster and simulated metrics (a real Prometheus
 * when installed, else the built-in metrics source). Its catalogue is flightdeck.yaml's services (the
 * five seeds, as committed) plus two demo services, `demo` (canary through ingress-nginx) and
 * `demo-blue-green`, with demo people in roles. The web page (web-server.ts) shows the workspace and
 * sends every click as the signed payload Slack would send, into the bot's own Bolt receiver.
 */

/** The people of the tour; the rest of flightdeck.yaml's role members are in the switcher too. */
export const DEMO_PEOPLE: ReadonlyArray<Omit<Person, 'roles' | 'demo'>> = [
  { id: 'U0DEPLOYER', name: 'dana', realName: 'Dana Deployer', about: 'starts deployments, shifts traffic' },
  { id: 'U0APPROVER', name: 'avery', realName: 'Avery Approver', about: 'signs releases off' },
  { id: 'U0ONCALL', name: 'omar', realName: 'Omar On-call', about: 'on call: escalations land here' },
  { id: 'U0VIEWER', name: 'vic', realName: 'Vic Viewer', about: 'no roles: sees everything, may do little' },
];

const DEMO_ROLES: Record<string, { description: string; users: string[] }> = {
  deployer: { description: 'People who run deployments', users: ['U0DEPLOYER', 'U0ONCALL'] },
  approver: { description: 'Signs releases off (sandbox demo)', users: ['U0APPROVER'] },
  'on-call': { description: 'Primary on-call engineer (escalations land here)', users: ['U0ONCALL'] },
};

export const DEMO_SERVICES: Record<
  string,
  Partial<ServiceConfig> & Pick<ServiceConfig, 'checklist' | 'channel'>
> = {
  demo: {
    environment: 'production',
    checklist: 'demo-canary',
    channel: 'C0DEMO',
    namespace: 'demo',
    kubernetes: {
      deployment: 'demo-canary',
      stable_deployment: 'demo',
      service: 'demo',
      ingress: 'demo',
      canary_ingress: 'demo-canary',
      selector: 'app=demo',
    },
    vars: { host: 'localhost' },
    traffic: { strategy: 'canary', provider: 'ingress-nginx', canary_ingress: 'demo-canary' },
    deployers: ['deployer', 'on-call'],
  },
  'demo-blue-green': {
    environment: 'production',
    checklist: 'demo-blue-green',
    channel: 'C0DEMOBG',
    namespace: 'demo-bg',
    kubernetes: { deployment: 'demo-bg-green', service: 'demo-bg', selector: 'app=demo-bg' },
    traffic: { strategy: 'blue-green', service: 'demo-bg', slot_label: 'slot' },
    deployers: ['deployer', 'on-call'],
  },
};

/** 10 minutes of a checklist take 12 s: the seeds' watch windows stay watchable. */
export const SANDBOX_TIME_SCALE = 0.02;
const DEMO_DIR = fileURLToPath(new URL('./demo/', import.meta.url));
const BOT_TOKEN = 'xoxb-sandbox-0000-flightdeck';

/** flightdeck.yaml or a checklist has problems: the sandbox runs the catalogue as it is, so it stops. */
export class SandboxConfigError extends Error {
  constructor(readonly problems: Problem[]) {
    super(`${problems.length} configuration problem(s)`);
  }
}

export interface SandboxOptions {
  /** REDIS_URL, PORT, FLIGHTDECK_CONFIG, LOG_LEVEL, REDIS_PREFIX and SANDBOX_PROMETHEUS are read. */
  env?: NodeJS.ProcessEnv;
  /** The page's port; default PORT or 3000. 0 picks a free one. */
  port?: number;
  host?: string;
  logger?: Logger;
  /** Says what is happening while starting (e.g. "starting Prometheus"). */
  progress?: (step: string) => void;
}

export interface Sandbox {
  url: string;
  slack: FakeSlack;
  driver: SlackDriver;
  infra: SimulatedInfra;
  bot: Flightdeck;
  config: Config;
  redis: { url: string; source: AvailableRedis['source']; prefix: string };
  notes: string[];
  stop(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const env = options.env ?? process.env;
  const cleanup: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
  };
  try {
    return await start(options, env, cleanup, stop);
  } catch (error) {
    await stop();
    throw error;
  }
}

async function start(
  options: SandboxOptions,
  env: NodeJS.ProcessEnv,
  cleanup: Array<() => Promise<unknown>>,
  stop: () => Promise<void>,
): Promise<Sandbox> {
  const progress = options.progress ?? (() => {});
  const signingSecret = randomBytes(16).toString('hex');
  // The user's catalogue, validated by the real loader (with stand-in credentials: it checks those too).
  const validated = await loadConfig({
    ...env,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_APP_TOKEN: '',
    SLACK_API_URL: '',
  });
  if (!validated.ok) throw new SandboxConfigError(validated.problems);
  const userConfig = validated.config;

  // The page's port first: a port in use is the most likely problem and should not wait for the rest.
  const web = await startWebServer({
    port: options.port ?? userConfig.env.PORT,
    ...(options.host ? { host: options.host } : {}),
  });
  cleanup.push(() => web.close());

  const dir = await mkdtemp(join(tmpdir(), 'flightdeck-sandbox-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const checklistsDir = join(dir, 'checklists');
  await copyChecklists(userConfig, checklistsDir);

  const file = sandboxCatalogue(userConfig.file, checklistsDir, web);
  const prometheus = prometheusMode(env);
  progress(
    prometheus === 'auto'
      ? 'starting Redis, the simulated cluster and Prometheus'
      : 'starting Redis and the simulated cluster (built-in metrics source: Prometheus is not installed)',
  );
  const [redis, infra, slack] = await Promise.all([
    ensureRedis(userConfig.env.REDIS_URL).then((available) => {
      cleanup.push(() => available.stop());
      return available;
    }),
    startSimulatedInfra({ file, configDir: dir, prometheus }).then((started) => {
      cleanup.push(() => started.stop());
      return started;
    }),
    FakeSlack.start({
      botToken: BOT_TOKEN,
      teamDomain: 'flightdeck-sandbox',
      channels: Object.entries(file.services).map(([name, service]) => ({ id: service.channel, name })),
      users: Object.fromEntries(
        people(file).map((person) => [person.id, { name: person.name, realName: person.realName }]),
      ),
      usergroups: usergroups(file),
    }).then((started) => {
      cleanup.push(() => started.stop());
      return started;
    }),
  ]);

  // A fresh key prefix per run: the emulator starts empty, so old deployments must not come back.
  const prefix = env.REDIS_PREFIX || `fd-sandbox-${randomBytes(3).toString('hex')}`;
  cleanup.push(() => removeKeys(redis.url, prefix));
  const configPath = join(dir, 'flightdeck.yaml');
  await writeFile(
    configPath,
    `# Generated by the sandbox (src/sandbox/sandbox.ts) for simulated infrastructure; removed when it stops.\n${stringify(
      { ...infra.file, time_scale: SANDBOX_TIME_SCALE },
    )}`,
  );
  const loaded = await loadConfig({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_API_URL: slack.apiUrl,
    REDIS_URL: redis.url,
    REDIS_PREFIX: prefix,
    FLIGHTDECK_CONFIG: configPath,
    LOG_LEVEL: env.LOG_LEVEL || 'warn',
    PORT: '0',
  });
  if (!loaded.ok) throw new SandboxConfigError(loaded.problems);

  progress('starting Flightdeck');
  const logger = options.logger ?? createLogger({ level: loaded.config.env.LOG_LEVEL });
  const bot = await startFlightdeck(loaded.config, {
    logger,
    role: 'all',
    // Bolt's receiver on an internal port; people reach it only through the page.
    listen: { port: 0, host: '127.0.0.1' },
    kube: infra.kube,
  });
  cleanup.push(() => bot.stop());
  // The simulated CI/CD: once a deployment has started (and recorded what was live), the cluster rolls
  // out `<service>:<version>`, so the checklists' image checks see the version being deployed.
  bot.deployments.subscribe({
    onChange(change) {
      if (!change.events.some((event) => event.type === 'deployment.started')) return;
      const { service, version } = change.deployment;
      void infra
        .release(service, version)
        .catch((error: Error) =>
          logger.warn({ service, version, err: error.message }, 'the simulated release failed'),
        );
    },
  });
  const driver = new SlackDriver({
    eventsUrl: `http://127.0.0.1:${bot.port}/slack/events`,
    signingSecret,
    slack,
  });

  const notes = [...demoTimeline(loaded.config), ...infra.notes];
  if (redis.source === 'started')
    notes.push(
      `no Redis answered at ${userConfig.env.REDIS_URL}: using a private redis-server at ${redis.url}`,
    );
  const workspace: Workspace = {
    team: { id: slack.teamId, domain: slack.teamDomain, name: 'Flightdeck sandbox' },
    bot: { id: slack.botUserId, name: 'Flightdeck' },
    channels: Object.entries(loaded.config.file.services)
      .map(([name, service]) => ({
        id: service.channel,
        name,
        service: name,
        checklists: [service.checklist, ...service.checklists],
        ...(service.traffic ? { strategy: service.traffic.strategy } : {}),
      }))
      .sort(
        (a, b) =>
          Number(b.name.startsWith('demo')) - Number(a.name.startsWith('demo')) ||
          a.name.localeCompare(b.name),
      ),
    people: people(loaded.config.file),
    defaultUser: DEMO_PEOPLE[0]!.id,
    notes,
  };
  const incidents = new Map<string, IncidentState>(
    Object.keys(loaded.config.file.services).map((name) => [
      name,
      { errorRatio: HEALTHY.errorRatio, latency: HEALTHY.latency, healthStatus: 200 },
    ]),
  );
  web.attach({
    slack,
    driver,
    workspace,
    incidents: () => Object.fromEntries(incidents),
    incident: (service, action) => {
      const state = playIncident(infra, service, action, incidents.get(service)!);
      incidents.set(service, state);
      return state;
    },
  });

  return {
    url: web.url,
    slack,
    driver,
    infra,
    bot,
    config: loaded.config,
    redis: { url: redis.url, source: redis.source, prefix },
    notes,
    stop,
  };
}

/** `auto` (a real Prometheus) when Debian's binaries are there, else the built-in metrics source. */
function prometheusMode(env: NodeJS.ProcessEnv): 'auto' | 'builtin' {
  if (env.SANDBOX_PROMETHEUS === 'builtin') return 'builtin';
  return prometheusInstalled() && promtoolInstalled() ? 'auto' : 'builtin';
}

/** What the incident buttons do to a service's simulated traffic and health endpoint. */
function playIncident(
  infra: SimulatedInfra,
  service: string,
  action: IncidentAction,
  current: IncidentState,
): IncidentState {
  switch (action) {
    case 'error-rate':
      // 25% errors: well over the demo's 5% trigger, so its 10 s window fills quickly.
      infra.exporter.setErrorRatio(service, 0.25);
      return { ...current, errorRatio: 0.25 };
    case 'latency':
      // p95 lands just under 750 ms (see metrics-exporter.ts): over the demo's 500 ms trigger.
      infra.exporter.setLatency(service, 0.75);
      return { ...current, latency: 0.75 };
    case 'health':
      infra.http.setHealth(service, 503);
      return { ...current, healthStatus: 503 };
    case 'restore':
      infra.exporter.setErrorRatio(service, HEALTHY.errorRatio);
      infra.exporter.setLatency(service, HEALTHY.latency);
      infra.http.setHealth(service, 200);
      return { errorRatio: HEALTHY.errorRatio, latency: HEALTHY.latency, healthStatus: 200 };
  }
}

/** flightdeck.yaml's catalogue plus the demo services and roles; pages go to the page itself. */
function sandboxCatalogue(file: FileConfig, checklistsDir: string, web: WebServer): FileConfig {
  const catalogue: FileConfig = structuredClone(file);
  catalogue.checklists_dir = checklistsDir;
  for (const [name, service] of Object.entries(DEMO_SERVICES)) {
    catalogue.services[name] = {
      environment: 'production',
      namespace: 'default',
      kubernetes: {},
      links: {},
      vars: {},
      checklists: [],
      ...service,
    } as ServiceConfig;
  }
  for (const [name, role] of Object.entries(DEMO_ROLES)) {
    const existing = catalogue.roles[name];
    catalogue.roles[name] = {
      description: existing?.description ?? role.description,
      users: [...new Set([...(existing?.users ?? []), ...role.users])],
      groups: existing?.groups ?? [],
    };
  }
  catalogue.paging = { type: 'webhook', url: web.pagesUrl, headers: {} };
  return catalogue;
}

/** Members the emulator gives each user group: one made-up person per group. */
function usergroups(file: FileConfig): Record<string, string[]> {
  const groups = new Set(Object.values(file.roles).flatMap((role) => role.groups));
  return Object.fromEntries([...groups].map((group) => [group, [`U0${group.slice(1)}M1`]]));
}

/** Everyone in a role (and each group's member), plus the viewer; the demo people first. */
function people(file: FileConfig): Person[] {
  const groups = usergroups(file);
  const rolesOf = new Map<string, string[]>();
  for (const [role, config] of Object.entries(file.roles)) {
    const members = [...config.users, ...config.groups.flatMap((group) => groups[group] ?? [])];
    for (const id of members) rolesOf.set(id, [...(rolesOf.get(id) ?? []), role]);
  }
  const demo: Person[] = DEMO_PEOPLE.map((person) => ({
    ...person,
    roles: rolesOf.get(person.id) ?? [],
    demo: true,
  }));
  const others: Person[] = [...rolesOf.keys()]
    .filter((id) => !DEMO_PEOPLE.some((person) => person.id === id))
    .sort()
    .map((id) => {
      const name = id.replace(/^U0/, '').toLowerCase();
      return {
        id,
        name,
        realName: name.charAt(0).toUpperCase() + name.slice(1),
        roles: rolesOf.get(id) ?? [],
        demo: false,
      };
    });
  return [...demo, ...others];
}

/** The catalogue's checklists and the demo's, in one directory (the loader reads one). */
async function copyChecklists(config: Config, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  const source = isAbsolute(config.file.checklists_dir)
    ? config.file.checklists_dir
    : resolve(dirname(config.path), config.file.checklists_dir);
  for (const dir of [source, DEMO_DIR]) {
    for (const name of await readdir(dir)) {
      if (/\.ya?ml$/.test(name)) await copyFile(join(dir, name), join(target, name));
    }
  }
}

/** Deletes the run's keys, so a shared Redis is left as it was found. */
async function removeKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * What will happen when, in the demo channel, for a newcomer reading the page: when people are called
 * about a phase nobody acts on, how long the watch windows take, how long triggers watch after completion.
 */
function demoTimeline(config: Config): string[] {
  const service = config.file.services.demo;
  const checklist = service ? config.checklists.get(service.checklist) : undefined;
  if (!checklist) return [];
  const scale = config.file.time_scale;
  const levels = (checklist.escalation ?? config.file.escalation).levels;
  const calls = levels
    .map(
      (level) =>
        `${level.notify === 'owner' ? 'its owners' : level.notify} after ${formatDuration(level.after)}${level.page ? ' (paged)' : ''}`,
    )
    .join(', then ');
  const lines = [
    `In #demo, time runs ${Math.round(1 / scale)}× faster for watch windows: "watch for 5 minutes" takes ${formatDuration(Math.round(300_000 * scale))}.`,
  ];
  if (calls) lines.push(`A phase nobody acts on calls ${calls} (not sped up).`);
  const watch = checklist.rollback?.watch_after_completion;
  if (watch && (checklist.rollback?.triggers.length ?? 0) > 0)
    lines.push(
      `After the last phase, the rollback triggers keep watching for ${formatDuration(Math.round(watch * scale))}.`,
    );
  return lines;
}
