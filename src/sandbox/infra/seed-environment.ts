import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Document, parse, parseDocument, stringify, visit, type YAMLMap } from 'yaml';
import { fileConfigSchema } from '../../config/schema.js';
import { type SimulatedInfra, type SimulatedInfraOptions, startSimulatedInfra } from './simulated-infra.js';

/**
 * The committed catalogue (flightdeck.yaml) running against simulated infrastructure: a temp
 * flightdeck.yaml with the simulation's URLs and manifests, a copy of the repository's checklists/, and
 * the same roles — for `startHarness({ configPath, kube })`.
 *
 * In the copy, every tcp and tls check on `{{vars.host}}` (this machine, in the seed catalogue) names a
 * port reserved here and closed instead of the real platform's fixed one (Redis 6379, Grafana 3000, …):
 * whether those well-known ports are free on this machine is luck (a laptop runs Redis and the sandbox
 * on them), a closed port the environment chose always refuses.
 */

/** The host placeholder seed checklists use for the platform's own machine. */
const PLATFORM_HOST = '{{vars.host}}';

export const COMMITTED_CONFIG = fileURLToPath(new URL('../../../flightdeck.yaml', import.meta.url));

export interface SeedEnvironment {
  infra: SimulatedInfra;
  /** The temp flightdeck.yaml pointing at `infra`. */
  configPath: string;
  /** Each fixed port a check on `{{vars.host}}` names, and the closed port on 127.0.0.1 it goes to instead. */
  standInPorts: ReadonlyMap<number, number>;
  stop(): Promise<void>;
}

export async function startSeedEnvironment(
  options: Omit<SimulatedInfraOptions, 'file' | 'configDir'> & {
    /** flightdeck.yaml `time_scale`: the seeds' 10–120 minute watch windows in under a few seconds. */
    timeScale?: number;
  } = {},
): Promise<SeedEnvironment> {
  const file = fileConfigSchema.parse(parse(await readFile(COMMITTED_CONFIG, 'utf8')));
  const infra = await startSimulatedInfra({ ...options, file, configDir: dirname(COMMITTED_CONFIG) });
  try {
    const dir = await mkdtemp(join(tmpdir(), 'flightdeck-seed-config-'));
    const checklistsDir = join(dir, 'checklists');
    const standInPorts = await copyChecklists(infra.file.checklists_dir, checklistsDir);
    const configPath = join(dir, 'flightdeck.yaml');
    const config = { ...infra.file, checklists_dir: checklistsDir, time_scale: options.timeScale ?? 0.0005 };
    await writeFile(
      configPath,
      `# Generated from ${COMMITTED_CONFIG} for simulated infrastructure; removed after the run.\n${stringify(config)}`,
    );
    return {
      infra,
      configPath,
      standInPorts,
      async stop() {
        await infra.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await infra.stop();
    throw error;
  }
}

/**
 * Copies the checklists, pointing each tcp and tls check on `{{vars.host}}` at a stand-in port; returns
 * which port stands in for which. Comments and layout are kept (the YAML is edited, not re-written).
 */
async function copyChecklists(from: string, to: string): Promise<Map<number, number>> {
  await mkdir(to);
  const files = (await readdir(from)).filter((name) => /\.ya?ml$/.test(name));
  const documents = new Map<string, Document>();
  const fixedPorts = new Set<number>();
  for (const name of files) {
    const doc = parseDocument(await readFile(join(from, name), 'utf8'));
    documents.set(name, doc);
    for (const check of checksOnPlatformHost(doc)) fixedPorts.add(fixedPortOf(check));
  }
  const standIns = await closedPorts(fixedPorts.size);
  const standInPorts = new Map([...fixedPorts].map((port, index) => [port, standIns[index]!]));
  for (const [name, doc] of documents) {
    for (const check of checksOnPlatformHost(doc)) check.set('port', standInPorts.get(fixedPortOf(check)));
    await writeFile(join(to, name), doc.toString());
  }
  return standInPorts;
}

function checksOnPlatformHost(doc: Document): YAMLMap[] {
  const found: YAMLMap[] = [];
  visit(doc, {
    Map(_, map) {
      const type = map.get('type');
      if ((type === 'tcp' || type === 'tls') && map.get('host') === PLATFORM_HOST) found.push(map);
    },
  });
  return found;
}

/** The port a check names; a tls check without one means 443 (as the schema's default). */
function fixedPortOf(check: YAMLMap): number {
  const port = check.get('port');
  return typeof port === 'number' ? port : 443;
}

/**
 * `count` distinct loopback ports nothing listens on: listened on together (so the kernel hands out
 * different ones), then closed — a connection to them is refused.
 */
async function closedPorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((server) => (server.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}
