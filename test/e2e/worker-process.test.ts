import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { startDeployment, waitUntil } from './walk.js';

/**
 * `npm run worker` as real processes beside a bot that runs no checks itself: a worker killed with
 * SIGKILL in the middle of a check loses it to another worker, which completes it, and the result lands
 * exactly once; a worker sent SIGTERM finishes the check it is running before it exits.
 */

let h: Harness;
let configPath: string;
const server = createServer((req, res) => handle(req.url ?? '', res));
const hits: Record<string, number> = {};
const hanging: ServerResponse[] = [];
const workers: ChildProcess[] = [];

function handle(url: string, res: ServerResponse) {
  hits[url] = (hits[url] ?? 0) + 1;
  if (url === '/stuck' && hits[url] === 1) {
    hanging.push(res); // the first worker never gets an answer: it is killed while waiting
    return;
  }
  if (url === '/slow') {
    setTimeout(() => res.writeHead(200).end('ok'), 1_500);
    return;
  }
  res.writeHead(200).end('ok');
}

function startWorker(): ChildProcess {
  // One process (node with tsx's loader), so SIGKILL really kills the worker, not a wrapper around it.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    env: {
      ...process.env,
      ...h.env,
      FLIGHTDECK_CONFIG: configPath,
      CHECK_LOCK_MS: '1000',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(child);
  // Keep what the worker says: when a test fails, its output explains why.
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  outputs.set(child, output);
  return child;
}

const outputs = new Map<ChildProcess, string[]>();
function workerOutput(): string {
  return [...outputs.values()].map((lines, index) => `--- worker ${index + 1}\n${lines.join('')}`).join('\n');
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = await mkdtemp(join(tmpdir(), 'fd-workers-'));
  await mkdir(join(dir, 'checklists'));
  const checklist = (id: string, path: string) =>
    `id: ${id}\ntitle: ${id}\nphases:\n  - id: verify\n    title: Verify\n    items:\n      - { id: probe, kind: check, title: Probe ${path}, check: { type: http, url: "${base}${path}", timeout: 30s, retries: 0 } }\n`;
  await writeFile(join(dir, 'checklists', 'stuck.yaml'), checklist('stuck', '/stuck'));
  await writeFile(join(dir, 'checklists', 'slow.yaml'), checklist('slow', '/slow'));
  configPath = join(dir, 'flightdeck.yaml');
  await writeFile(
    configPath,
    'services:\n  stuck:\n    checklist: stuck\n    channel: C0STUCK\n    deployers: [deployer]\n  slow:\n    checklist: slow\n    channel: C0SLOW\n    deployers: [deployer]\nroles:\n  deployer: { users: [U0DEPLOYER] }\n',
  );
  h = await startHarness({ configPath, role: 'bot' });
});

afterAll(async () => {
  if (process.env.DEBUG_WORKERS) console.log(workerOutput());
  for (const child of workers) if (child.exitCode === null) child.kill('SIGKILL');
  for (const res of hanging) res.destroy();
  await h.stop();
  server.close();
});

describe('check workers as processes', () => {
  it('recovers a check from a worker killed mid-check; the result is recorded once', async () => {
    const first = startWorker();
    const { id } = await startDeployment(h, 'stuck', '1.0.0', 'U0DEPLOYER');
    await waitUntil(
      () => (hits['/stuck'] === 1 ? true : undefined),
      'the first worker to start the check',
      20_000,
    );
    first.kill('SIGKILL');
    await exited(first);

    startWorker();
    await waitUntil(
      async () => (await h.bot.store.load(id))?.state.items.probe?.status === 'passed',
      'a second worker to finish it',
      30_000,
    );
    expect(hits['/stuck']).toBe(2);
    const audit = (await h.bot.store.audit(id)).map((entry) => entry.event);
    expect(audit.filter((event) => event.type === 'check.requested')).toHaveLength(1);
    expect(audit.filter((event) => event.type === 'check.completed')).toEqual([
      expect.objectContaining({ itemId: 'probe', run: 1, outcome: 'passed' }),
    ]);
    expect((await h.bot.store.load(id))?.state.status).toBe('completed');
  }, 60_000);

  it('finishes the running check on SIGTERM before exiting', async () => {
    const worker = workers.at(-1) as ChildProcess;
    const { id } = await startDeployment(h, 'slow', '1.0.0', 'U0DEPLOYER');
    await waitUntil(
      () => (hits['/slow'] === 1 ? true : undefined),
      'the worker to start the slow check',
      20_000,
    );
    worker.kill('SIGTERM');
    const code = await exited(worker);
    expect(code).toBe(0);
    // The verdict was recorded before the process exited, by that process.
    expect((await h.bot.store.load(id))?.state.items.probe).toMatchObject({ status: 'passed', run: 1 });
    expect(hits['/slow']).toBe(1);
  }, 60_000);
});
