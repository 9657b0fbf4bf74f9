import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { fileConfigSchema } from '../../src/config/schema.js';
import { startFlightdeck } from '../../src/flightdeck.js';
import { createLogger } from '../../src/observability/logger.js';
import {
  HEALTHY,
  type SimulatedInfra,
  startSimulatedInfra,
} from '../../src/sandbox/infra/simulated-infra.js';
import type { KubeObject } from '../../src/sandbox/kube/types.js';
import { instantQuery } from '../../src/sandbox/metrics/prometheus.js';
import { type Harness, startHarness } from '../support/harness.js';
import { shiftTraffic, startDeployment, waitUntil } from './walk.js';

/**
 * Rollback triggers against a real Prometheus scraping the service every second: a breach that holds for
 * the trigger's whole window rolls back by itself — not before the window, and not for a one-sample
 * spike — and a trigger without automatic rollback asks the on-call to decide, with a Roll back button.
 */

const ERRORS =
  'sum(irate(http_requests_total{service="web",code=~"5.."}[3s])) / sum(irate(http_requests_total{service="web"}[3s]))';
const P95 =
  'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="web"}[3s])))';
const FOR_MS = 5_000;
const EVERY_MS = 1_000;

let infra: SimulatedInfra;
let h: Harness;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fd-guards-'));
  await mkdir(join(dir, 'checklists'));
  await writeFile(
    join(dir, 'checklists', 'guarded.yaml'),
    stringify({
      id: 'guarded',
      title: 'Guarded canary',
      phases: [
        {
          id: 'rollout',
          title: 'Rollout',
          sequential: true,
          items: [
            { id: 'canary', kind: 'traffic', title: 'Canary 10%', traffic: { weight: 10 } },
            { id: 'watch', kind: 'wait', title: 'Watch the canary', wait: { duration: '10m' } },
          ],
        },
      ],
      rollback: {
        evaluate_every: `${EVERY_MS}ms`,
        triggers: [
          {
            id: 'errors',
            title: 'Error rate > 5% for 5 seconds',
            condition: {
              type: 'prometheus',
              query: ERRORS,
              comparator: '>',
              threshold: 0.05,
              unit: 'ratio',
              label: 'error rate',
            },
            for: `${FOR_MS}ms`,
            auto: true,
          },
          {
            id: 'latency',
            title: 'p95 > 500 ms for 3 seconds',
            condition: {
              type: 'prometheus',
              query: P95,
              comparator: '>',
              threshold: 0.5,
              unit: 'seconds',
              label: 'p95',
            },
            for: '3s',
            auto: false,
          },
        ],
      },
    }),
  );
  const file = fileConfigSchema.parse({
    services: {
      web: {
        checklist: 'guarded',
        channel: 'C0WEB',
        namespace: 'web',
        kubernetes: {
          deployment: 'web-canary',
          stable_deployment: 'web',
          service: 'web',
          canary_ingress: 'web-canary',
          selector: 'app=web',
        },
        traffic: { strategy: 'canary', provider: 'ingress-nginx', canary_ingress: 'web-canary' },
        deployers: ['deployer'],
      },
    },
    roles: { deployer: { users: ['U0DEPLOYER'] }, 'on-call': { users: ['U0ONCALL'] } },
  });
  infra = await startSimulatedInfra({
    file,
    configDir: dir,
    scrapeIntervalMs: 1_000,
    historyMs: 10 * 60_000,
  });
  const configPath = join(dir, 'flightdeck.yaml');
  await writeFile(configPath, stringify({ ...infra.file, checklists_dir: join(dir, 'checklists') }));
  h = await startHarness({ configPath, kube: infra.kube });
}, 90_000);

afterAll(async () => {
  await h?.stop();
  await infra?.stop();
});

// An aborted deployment leaves traffic where it was; each test starts from a canary at 0%, as a team would
// leave it (a rollback returns to what was live when its deployment started).
afterEach(() => {
  if (canaryWeight() === '0') return;
  infra.fakeKube.update<KubeObject & { metadata: { annotations?: Record<string, string> } }>(
    'Ingress/web/web-canary',
    (ingress) => {
      ingress.metadata.annotations = {
        ...ingress.metadata.annotations,
        'nginx.ingress.kubernetes.io/canary-weight': '0',
      };
    },
  );
});

function canaryWeight(): string | undefined {
  const ingress = infra.fakeKube.get<{ metadata: { annotations?: Record<string, string> } }>(
    'Ingress/web/web-canary',
  );
  return ingress?.metadata.annotations?.['nginx.ingress.kubernetes.io/canary-weight'];
}

/** PATCH requests that reached the canary Ingress so far. */
function ingressPatches(): number {
  return infra.fakeKube.requests.filter(
    (request) => request.method === 'PATCH' && request.path.endsWith('/ingresses/web-canary'),
  ).length;
}

/** Waits until Prometheus itself shows the condition (so timings start where the data does). */
async function visibleInPrometheus(query: string, predicate: (value: number) => boolean): Promise<number> {
  return waitUntil(
    async () => {
      const [sample] = await instantQuery(infra.prometheusUrl as string, query);
      return sample && predicate(sample.value) ? Date.now() : undefined;
    },
    `Prometheus to show ${query}`,
    20_000,
  );
}

async function armedDeployment(version: string) {
  const started = await startDeployment(h, 'web', version, 'U0DEPLOYER');
  const { checklist } = (await h.bot.store.load(started.id))!;
  await shiftTraffic(h, started.id, checklist, checklist.phases[0]!.items[0]!, 'U0DEPLOYER');
  expect(canaryWeight()).toBe('10');
  expect((await h.bot.store.load(started.id))?.state.guardsArmedAt).toBeDefined();
  return started;
}

describe('rollback triggers', () => {
  it('ignore a one-sample spike', async () => {
    const { id } = await armedDeployment('1.0.0');
    // Let the window fill with the new code's healthy traffic first.
    await new Promise((resolve) => setTimeout(resolve, FOR_MS + EVERY_MS));
    infra.exporter.setErrorRatio('web', 0.5);
    await visibleInPrometheus(ERRORS, (value) => value > 0.05);
    infra.exporter.setErrorRatio('web', HEALTHY.errorRatio);
    await visibleInPrometheus(ERRORS, (value) => value < 0.05);
    // Give the guard a full window and then some to (wrongly) fire.
    await new Promise((resolve) => setTimeout(resolve, FOR_MS + 2 * EVERY_MS));
    expect((await h.bot.store.load(id))?.state.status).toBe('active');
    expect(canaryWeight()).toBe('10');
    await h.driver.slash('U0DEPLOYER', 'C0WEB', '/deploy', 'abort web spike test done');
    await waitUntil(async () => (await h.bot.store.load(id))?.state.status === 'aborted', 'the abort');
  }, 60_000);

  it('roll back by themselves once a breach holds for the whole window, and not before', async () => {
    const { id, channel } = await armedDeployment('2.0.0');
    await new Promise((resolve) => setTimeout(resolve, FOR_MS + EVERY_MS));
    infra.exporter.setErrorRatio('web', 0.3);
    const breachVisible = await visibleInPrometheus(ERRORS, (value) => value > 0.05);
    // Well inside the window: still deployed.
    await new Promise((resolve) => setTimeout(resolve, FOR_MS - 2_000));
    expect((await h.bot.store.load(id))?.state.status).toBe('active');
    const rolledBack = await waitUntil(
      async () => ((await h.bot.store.load(id))?.state.status === 'rolled_back' ? Date.now() : undefined),
      'the automatic rollback',
      30_000,
    );
    infra.exporter.setErrorRatio('web', HEALTHY.errorRatio);
    expect(canaryWeight()).toBe('0');
    // Within the window, one evaluation interval and a little scheduling slack of the breach showing.
    expect(rolledBack - breachVisible).toBeLessThan(FOR_MS + EVERY_MS + 4_000);
    // …and not before: the whole window must have breached (one scrape of leeway for where it starts).
    expect(rolledBack - breachVisible).toBeGreaterThanOrEqual(FOR_MS - 1_500);
    const { state } = (await h.bot.store.load(id))!;
    expect(state.rollback).toMatchObject({
      requestedBy: 'flightdeck',
      trigger: {
        id: 'errors',
        title: 'Error rate > 5% for 5 seconds',
        measured: expect.stringMatching(/^error rate ≥? ?[\d.]+% > 5% for all of 5s$/),
      },
      before: { weight: 10 },
      after: { weight: 0 },
    });
    await h.bot.context.presenter.idle();
    const cardTs = (await h.bot.store.message(id, 'card'))!;
    const texts = h.slack.thread(channel, cardTs).map((message) => JSON.stringify(message.blocks));
    const report = texts.find((text) => text.includes('Rolled back web 2.0.0'));
    expect(report ?? texts.join('\n')).toContain('Error rate &gt; 5% for 5 seconds'); // mrkdwn-escaped
    const audit = (await h.bot.store.audit(id)).map((entry) => entry.event.type);
    expect(audit.filter((type) => type === 'rollback.requested')).toHaveLength(1);
    expect(audit).toContain('rollback.completed');
  }, 60_000);

  it('two bot replicas on one Redis roll back once: one rollback, one patch of the Ingress', async () => {
    // A second Flightdeck on the same Redis keys, fake Slack and cluster: both evaluate guards.
    const loaded = await loadConfig(h.env);
    if (!loaded.ok) throw new Error('the harness configuration does not load');
    const replica = await startFlightdeck(loaded.config, {
      listen: { port: 0, host: '127.0.0.1' },
      logger: createLogger({ level: 'silent' }),
      kube: infra.kube,
    });
    try {
      const { id } = await armedDeployment('4.0.0');
      await new Promise((resolve) => setTimeout(resolve, FOR_MS + EVERY_MS));
      const patchesBefore = ingressPatches();
      infra.exporter.setErrorRatio('web', 0.3);
      await waitUntil(
        async () => (await h.bot.store.load(id))?.state.status === 'rolled_back',
        'the automatic rollback',
        30_000,
      );
      infra.exporter.setErrorRatio('web', HEALTHY.errorRatio);
      // Give a late second evaluation the chance to act before counting.
      await new Promise((resolve) => setTimeout(resolve, 2 * EVERY_MS));
      const audit = (await h.bot.store.audit(id)).map((entry) => entry.event.type);
      expect(audit.filter((type) => type === 'rollback.requested')).toHaveLength(1);
      expect(audit.filter((type) => type === 'rollback.completed')).toHaveLength(1);
      expect(ingressPatches() - patchesBefore).toBe(1);
    } finally {
      await replica.stop();
    }
  }, 60_000);

  it('ask the on-call to decide when they do not roll back by themselves', async () => {
    const { id, channel } = await armedDeployment('3.0.0');
    await new Promise((resolve) => setTimeout(resolve, 3_000 + EVERY_MS));
    infra.exporter.setLatency('web', 0.9);
    await visibleInPrometheus(P95, (value) => value > 0.5);
    const alertKey = await waitUntil(
      async () => Object.keys(await h.bot.store.messages(id)).find((key) => key.startsWith('guard:latency:')),
      'the trigger alert',
      30_000,
    );
    infra.exporter.setLatency('web', HEALTHY.latency);
    await h.bot.context.presenter.idle();
    const alertTs = (await h.bot.store.message(id, alertKey))!;
    const alert = h.slack.message(channel, alertTs)!;
    expect(alert.text).toContain('p95 > 500 ms for 3 seconds');
    expect(JSON.stringify(alert.blocks)).toContain('<@U0ONCALL>');
    expect((await h.bot.store.load(id))?.state.status).toBe('active'); // nothing rolled back by itself

    const views = h.slack.views.length;
    await h.driver.clickButton('U0DEPLOYER', { channel, ts: alertTs }, { actionId: 'deployment.rollback' });
    const view = await h.slack.waitFor(() => h.slack.views[views]);
    await h.driver.submitView('U0DEPLOYER', view.id, { reason: 'p95 too high on the canary' });
    await waitUntil(async () => (await h.bot.store.load(id))?.state.status === 'rolled_back', 'the rollback');
    expect(canaryWeight()).toBe('0');
    expect((await h.bot.store.load(id))?.state.rollback).toMatchObject({
      requestedBy: 'U0DEPLOYER',
      reason: 'p95 too high on the canary',
    });
  }, 60_000);
});
