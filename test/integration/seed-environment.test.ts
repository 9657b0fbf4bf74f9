import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadChecklists } from '../../src/checklists/loader.js';
import { allPhases } from '../../src/checklists/phases.js';
import type { CheckSpec } from '../../src/checklists/schema.js';
import {
  COMMITTED_CONFIG,
  type SeedEnvironment,
  startSeedEnvironment,
} from '../../src/sandbox/infra/seed-environment.js';

/**
 * Seed 002 checks the real platform's fixed ports on `{{vars.host}}` (Redis 6379, Grafana 3000, …),
 * which the seed catalogue sets to this machine. Whether those ports are free here is luck: a laptop
 * runs Redis on 6379 and the sandbox on 3000. The seed environment points each such check at a port it
 * reserved and closed, so the check is refused whatever listens on the well-known one.
 */

let env: SeedEnvironment;
beforeAll(async () => {
  env = await startSeedEnvironment({ prometheus: 'off' });
}, 30_000);
afterAll(async () => {
  await env?.stop();
});

type PortCheck = Extract<CheckSpec, { type: 'tcp' | 'tls' }>;

/** Every tcp and tls check on `{{vars.host}}` in a checklists directory, by item id. */
async function checksOnVarsHost(dir: string): Promise<Map<string, PortCheck>> {
  const loaded = await loadChecklists({ dir });
  expect(loaded.problems).toEqual([]);
  const found = new Map<string, PortCheck>();
  for (const checklist of loaded.checklists.values())
    for (const { phase } of allPhases(checklist))
      for (const item of phase.items)
        if (item.kind === 'check' && (item.check.type === 'tcp' || item.check.type === 'tls'))
          if (item.check.host === '{{vars.host}}') found.set(item.id, item.check);
  return found;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

describe('the seed environment', () => {
  it('points every check on a fixed port of {{vars.host}} at a port it reserved, which refuses', async () => {
    const committedDir = join(COMMITTED_CONFIG, '..', 'checklists');
    const committed = await checksOnVarsHost(committedDir);
    // Seed 002's Redis, service, gateway, Nginx, Prometheus and Grafana ports and its three TLS checks.
    expect(committed.size).toBe(12);

    const file = parse(await readFile(env.configPath, 'utf8')) as { checklists_dir: string };
    const seeded = await checksOnVarsHost(file.checklists_dir);
    expect([...seeded.keys()].sort()).toEqual([...committed.keys()].sort());
    for (const [itemId, check] of committed) {
      const wellKnown = check.port;
      const standIn = env.standInPorts.get(wellKnown);
      expect(standIn, `${itemId}: a stand-in for ${wellKnown}`).toBeDefined();
      expect(seeded.get(itemId)?.port, itemId).toBe(standIn);
      expect(await refused(standIn!), `${itemId}: 127.0.0.1:${standIn} refuses`).toBe(true);
    }
    // Well-known ports a laptop typically has busy are among them, each with a port of its own.
    expect([...env.standInPorts.keys()]).toEqual(expect.arrayContaining([6379, 3000, 443]));
    expect(new Set(env.standInPorts.values()).size).toBe(env.standInPorts.size);
  });
});
