import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { fileConfigSchema } from '../config/schema.js';
import { type SimulatedInfra, type SimulatedInfraOptions, startSimulatedInfra } from './simulated-infra.js';

/**
 * The committed catalogue (flightdeck.yaml) running against simulated infrastructure: a temp
 * flightdeck.yaml with the simulation's URLs and manifests, the repository's checklists/ (absolute), and
 * the same roles — for `startHarness({ configPath, kube })`.
 */

export const COMMITTED_CONFIG = fileURLToPath(new URL('../../flightdeck.yaml', import.meta.url));

export interface SeedEnvironment {
  infra: SimulatedInfra;
  /** The temp flightdeck.yaml pointing at `infra`. */
  configPath: string;
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
    const configPath = join(dir, 'flightdeck.yaml');
    await writeFile(
      configPath,
      `# Generated from ${COMMITTED_CONFIG} for simulated infrastructure; removed after the run.\n${stringify({ ...infra.file, time_scale: options.timeScale ?? 0.0005 })}`,
    );
    return {
      infra,
      configPath,
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
