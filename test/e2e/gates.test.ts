import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Checklist, Item } from '../../src/checklists/schema.js';
import { rolloutStatus } from '../../src/checks/kubernetes/rollout.js';
import { fileConfigSchema } from '../../src/config/schema.js';
import type { DeploymentEvent } from '../../src/deployments/engine.js';
import type { Deployment } from '../../src/deployments/model.js';
import { type SimulatedInfra, startSimulatedInfra } from '../../src/sandbox/infra/simulated-infra.js';
import type { KubeObject } from '../../src/sandbox/kube/types.js';
import type { FakeView } from '../../src/sandbox/slack/types.js';
import { ACTION, VIEW } from '../../src/slack/action-ids.js';
import { escalationMessageKey } from '../../src/slack/render/escalation.js';
import { triggerAlertKey } from '../../src/slack/render/operations.js';
import { REPORT_KEY } from '../../src/slack/render/report.js';
import { CARD_KEY } from '../../src/slack/render/status-card.js';
import { type Harness, startHarness } from '../support/harness.js';
import {
  buttonShown,
  forgeAction,
  forgeSubmission,
  messageOf,
  resolveItem,
  settledCheck,
  shiftTraffic,
  startDeployment,
  waitUntil,
  watchedOut,
} from './walk.js';

/**
 * The gates, end to end through signed Slack requests into the real receiver and a simulated cluster: each
 * test is one finding of "Gates that hold" (issue #11) and failed before the fix. Every path that resolves
 * or reverses something obeys the same rule as the action it stands for; a rollback returns to what was
 * live when the deployment started; triggers watch as long as new code takes traffic; the version is
 * verified on the cluster, not taken as a label.
 */

const REQUESTER = 'U0REQ'; // deployer and approver
const DEPLOYER = 'U0DEP';
const APPROVER_1 = 'U0APP1';
const APPROVER_2 = 'U0APP2';
const OPS = 'U0OPS';
const QA = 'U0QA';
const ONCALL = 'U0ONCALL';
const OUTSIDER = 'U0OUTSIDER';
/** Ten minutes of watching take 300 ms; four hours of watching after completion take 7.2 s. */
const TIME_SCALE = 0.0005;

let infra: SimulatedInfra;
let h: Harness;
let checklists: Record<string, Checklist>;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fd-gates-'));
  await mkdir(join(dir, 'checklists'));
  const written = {
    'shop-release': {
      title: 'Blue-green release',
      four_eyes: true,
      phases: [
        {
          id: 'prepare',
          title: 'Prepare green',
          items: [
            { id: 'smoke', kind: 'manual', title: 'Smoke-test green' },
            {
              id: 'approve',
              kind: 'signoff',
              title: 'Two approvers sign',
              signoff: { role: 'approver', count: 2 },
            },
          ],
        },
        {
          id: 'switch',
          title: 'Switch',
          sequential: true,
          items: [
            { id: 'go-green', kind: 'traffic', title: 'Switch to green', traffic: { slot: 'green' } },
            { id: 'soak', kind: 'wait', title: 'Soak on green', wait: { duration: '10m' } },
          ],
        },
        {
          id: 'verify',
          title: 'Verify',
          items: [
            {
              id: 'runs-version',
              kind: 'check',
              title: 'Green runs the new version',
              check: { type: 'kubernetes', check: 'image', deployment: '{{kubernetes.deployment}}' },
            },
          ],
        },
      ],
      rollback: {
        evaluate_every: '250ms',
        watch_after_completion: '4h',
        triggers: [
          {
            id: 'health',
            title: 'Health endpoint failing for 1 second',
            condition: { type: 'http', url: '{{health_url}}', expect_status: '2xx', timeout: '1s' },
            for: '1s',
            auto: true,
          },
        ],
        phases: [
          {
            id: 'after-rollback',
            title: 'Rollback checklist',
            items: [
              { id: 'back-to-blue', kind: 'traffic', title: 'Traffic on blue', traffic: { slot: 'blue' } },
            ],
          },
        ],
      },
    },
    'web-canary': {
      title: 'Canary',
      phases: [
        {
          id: 'rollout',
          title: 'Canary',
          sequential: true,
          items: [
            { id: 'canary-10', kind: 'traffic', title: 'Canary 10%', traffic: { weight: 10 } },
            { id: 'watch-10', kind: 'wait', title: 'Watch 10%', wait: { duration: '2h' } },
            { id: 'canary-50', kind: 'traffic', title: 'Canary 50%', traffic: { weight: 50 } },
          ],
        },
      ],
      rollback: {
        evaluate_every: '250ms',
        triggers: [
          {
            id: 'health',
            title: 'Health endpoint failing',
            condition: { type: 'http', url: '{{health_url}}', expect_status: '2xx', timeout: '1s' },
            for: '500ms',
            auto: false,
          },
        ],
      },
    },
    'api-rolling': {
      title: 'Rolling release',
      phases: [
        {
          id: 'rollout',
          title: 'Roll out',
          starts_guards: true,
          items: [{ id: 'applied', kind: 'manual', title: 'kubectl apply the new image' }],
        },
      ],
    },
    'notes-release': {
      title: 'Release notes',
      escalation: { levels: [{ after: '600ms', notify: 'on-call' }] },
      phases: [
        {
          id: 'write',
          title: 'Write',
          items: [
            { id: 'notes', kind: 'manual', title: 'Write the release notes' },
            { id: 'ops-check', kind: 'manual', title: 'Ops looks', owner: 'ops' },
          ],
        },
      ],
    },
  };
  for (const [id, checklist] of Object.entries(written))
    await writeFile(join(dir, 'checklists', `${id}.yaml`), stringify({ id, ...checklist }));
  const file = fileConfigSchema.parse({
    time_scale: TIME_SCALE,
    escalation: { levels: [] },
    services: {
      shop: {
        checklist: 'shop-release',
        channel: 'C0SHOP',
        namespace: 'shop',
        kubernetes: { deployment: 'shop-green', service: 'shop', selector: 'app=shop' },
        traffic: { strategy: 'blue-green', service: 'shop' },
        deployers: ['deployer'],
      },
      web: {
        checklist: 'web-canary',
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
      api: {
        checklist: 'api-rolling',
        channel: 'C0API',
        namespace: 'api',
        kubernetes: { deployment: 'api', service: 'api', selector: 'app=api' },
        traffic: { strategy: 'rolling', deployment: 'api' },
        deployers: ['deployer'],
      },
      notes: { checklist: 'notes-release', channel: 'C0NOTES', deployers: ['deployer'] },
    },
    roles: {
      deployer: { users: [REQUESTER, DEPLOYER] },
      approver: { users: [REQUESTER, APPROVER_1, APPROVER_2] },
      ops: { users: [OPS] },
      qa: { users: [QA] },
      'on-call': { users: [ONCALL] },
    },
  });
  infra = await startSimulatedInfra({ file, configDir: dir, prometheus: 'off', controllerDelayMs: 30 });
  const configPath = join(dir, 'flightdeck.yaml');
  await writeFile(configPath, stringify({ ...infra.file, checklists_dir: join(dir, 'checklists') }));
  h = await startHarness({ configPath, kube: infra.kube });
  checklists = {};
  for (const [id, checklist] of h.bot.context.catalogue.checklists) checklists[id] = checklist;
}, 60_000);

afterAll(async () => {
  await h?.stop();
  await infra?.stop();
});

afterEach(async () => {
  infra.http.setHealth('shop', 200);
  infra.http.setHealth('web', 200);
  for (const service of ['shop', 'web', 'api', 'notes']) {
    const id = await h.bot.store.activeFor(service, 'production');
    if (id)
      await h.bot.deployments.execute(id, {
        type: 'abort',
        actor: 'flightdeck',
        actorRoles: [],
        reason: 'test cleanup',
        at: Date.now(),
      });
  }
  if (liveSlot() !== 'blue') setSlot('blue');
  if (canaryWeight() !== '0')
    infra.fakeKube.update<Annotated>(CANARY, (ingress) => {
      ingress.metadata.annotations = { ...ingress.metadata.annotations, [WEIGHT]: '0' };
    });
  await h.bot.context.presenter.idle();
});

// ---------------------------------------------------------------------------------------------------
// The cluster

type Annotated = KubeObject & { metadata: { annotations?: Record<string, string> } };
type Selecting = KubeObject & { spec: { selector: Record<string, string> } };
type ApiDeployment = KubeObject & {
  spec: { template: { spec: { containers: { image: string }[] } } };
  status: Record<string, unknown>;
};
const SHOP_SERVICE = 'Service/shop/shop';
const CANARY = 'Ingress/web/web-canary';
const WEIGHT = 'nginx.ingress.kubernetes.io/canary-weight';

function liveSlot(): string | undefined {
  return infra.fakeKube.get<Selecting>(SHOP_SERVICE)?.spec.selector.slot;
}

function setSlot(slot: string): void {
  infra.fakeKube.update<Selecting>(SHOP_SERVICE, (svc) => {
    svc.spec.selector.slot = slot;
  });
}

function canaryWeight(): string | undefined {
  return infra.fakeKube.get<Annotated>(CANARY)?.metadata.annotations?.[WEIGHT];
}

function deploymentOf(namespace: string, name: string) {
  const deployment = infra.fakeKube.get<ApiDeployment>(`Deployment/${namespace}/${name}`)!;
  return {
    image: deployment.spec.template.spec.containers[0]!.image,
    revision: deployment.metadata?.annotations?.['deployment.kubernetes.io/revision'],
    rolledOut: rolloutStatus(deployment as never).done,
  };
}

/** What CI/CD does before Flightdeck is asked: the new image, rolled out by the controller. */
async function release(namespace: string, name: string, image: string): Promise<void> {
  await infra.fakeKube.clients().apps.patchNamespacedDeployment({
    name,
    namespace,
    body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: image }],
  });
  await waitUntil(
    () => deploymentOf(namespace, name).image === image && deploymentOf(namespace, name).rolledOut,
    `${image} to roll out`,
  );
}

// ---------------------------------------------------------------------------------------------------
// Flightdeck, as Slack shows it

async function state(id: string): Promise<Deployment> {
  return (await h.bot.store.load(id))!.state;
}

function until(id: string, predicate: (deployment: Deployment) => boolean, what: string, ms = 20_000) {
  return waitUntil(
    async () => {
      const current = await state(id);
      return predicate(current) ? current : undefined;
    },
    what,
    ms,
  );
}

async function audit(id: string): Promise<DeploymentEvent[]> {
  return (await h.bot.store.audit(id)).map((entry) => entry.event);
}

async function refusals(id: string, actor: string) {
  return (await audit(id)).filter(
    (event): event is Extract<DeploymentEvent, { type: 'access.refused' }> =>
      event.type === 'access.refused' && event.actor === actor,
  );
}

async function cardOf(id: string) {
  const ts = await waitUntil(() => h.bot.store.message(id, CARD_KEY), 'the status card');
  return { channel: (await state(id)).channel, ts };
}

async function cardText(id: string): Promise<string> {
  await h.bot.context.presenter.idle();
  const { channel, ts } = await cardOf(id);
  return JSON.stringify(h.slack.message(channel, ts)?.blocks);
}

async function reportText(id: string): Promise<string> {
  await h.bot.context.presenter.idle();
  const ts = await waitUntil(() => h.bot.store.message(id, REPORT_KEY), 'the report');
  const message = h.slack.message((await state(id)).channel, ts);
  return `${message?.text}\n${JSON.stringify(message?.blocks)}`;
}

function ephemeralTo(user: string, pattern: RegExp, from: number) {
  return h.slack.waitFor(
    () => h.slack.ephemerals.slice(from).find((e) => e.user === user && pattern.test(e.text)),
    { what: `a private answer to ${user} matching ${pattern}` },
  );
}

async function modal(from: number, callbackId: string): Promise<FakeView> {
  const view = await h.slack.waitFor(() => h.slack.views[from], { what: `the ${callbackId} modal` });
  expect(view.view.callback_id).toBe(callbackId);
  return view;
}

function item(checklistId: string, itemId: string): Item {
  const checklist = checklists[checklistId]!;
  const found = [...checklist.phases, ...(checklist.rollback?.phases ?? [])]
    .flatMap((phase) => phase.items)
    .find((candidate) => candidate.id === itemId);
  if (!found) throw new Error(`no item ${itemId} in ${checklistId}`);
  return found;
}

/** Clicks a button on an item's message as `user`, even one their Slack would not show (a stale message). */
async function click(id: string, checklistId: string, itemId: string, user: string, actionId: string) {
  const where = await messageOf(h, id, checklists[checklistId]!, item(checklistId, itemId));
  await buttonShown(h, where, actionId, `${id}|${itemId}`);
  const response = await h.driver.clickButton(user, where, { actionId, value: `${id}|${itemId}` });
  expect(response.status).toBe(200);
}

/** Walks shop's first phase: the requester's smoke test and two approvers' signatures. */
async function prepareShop(id: string): Promise<void> {
  const list = checklists['shop-release']!;
  await resolveItem(h, id, list, item('shop-release', 'smoke'), { resolution: 'done', actor: REQUESTER });
  for (const signer of [APPROVER_1, APPROVER_2])
    await resolveItem(h, id, list, item('shop-release', 'approve'), {
      resolution: 'done',
      actor: signer,
      untilResolved: false,
    });
  await until(id, (d) => d.phases.switch?.status === 'active', 'the switch phase');
}

/** A shop deployment walked to completion on green, running `version` on the cluster. */
async function shopCompleted(version: string): Promise<string> {
  await release('shop', 'shop-green', `shop:${version}`);
  const { id } = await startDeployment(h, 'shop', version, REQUESTER);
  await prepareShop(id);
  await shiftTraffic(h, id, checklists['shop-release']!, item('shop-release', 'go-green'), DEPLOYER);
  await watchedOut(h, id, 'soak');
  expect((await settledCheck(h, id, 'runs-version')).status).toBe('passed');
  await until(id, (d) => d.status === 'completed', 'completion');
  return id;
}

// ---------------------------------------------------------------------------------------------------

describe('1. a traffic step and the wait after it', () => {
  it('cannot be skipped by someone who may not shift; a skipped switch is flagged, never "deployed"', async () => {
    await release('shop', 'shop-green', 'shop:1.0.0');
    const { id, channel } = await startDeployment(h, 'shop', '1.0.0', REQUESTER);
    await prepareShop(id);
    const from = h.slack.ephemerals.length;
    const views = h.slack.views.length;

    // Refused Shift, then Skip…: both privately refused, no dialog, audited, the Service untouched.
    await click(id, 'shop-release', 'go-green', OUTSIDER, ACTION.trafficShift);
    await ephemeralTo(OUTSIDER, /Only the requester or the \*deployer\* role can shift traffic for/, from);
    await click(id, 'shop-release', 'go-green', OUTSIDER, ACTION.itemSkip);
    await ephemeralTo(
      OUTSIDER,
      /Only the requester or the \*deployer\* role can skip “Switch to green”/,
      from,
    );
    expect(h.slack.views.length).toBe(views);
    // A crafted submission of the skip dialog is refused by the engine all the same.
    await forgeSubmission(
      h,
      OUTSIDER,
      VIEW.skipItem,
      { channel, deploymentId: id, target: 'go-green' },
      'no time to switch',
    );
    await waitUntil(async () => (await refusals(id, OUTSIDER)).length >= 3, 'three audited refusals');
    expect((await refusals(id, OUTSIDER)).map((event) => [event.action, event.target, event.code])).toEqual([
      ['request-traffic', 'go-green', 'forbidden'],
      ['resolve-item skipped', 'go-green', 'forbidden'],
      ['resolve-item skipped', 'go-green', 'forbidden'],
    ]);
    expect((await state(id)).items['go-green']?.status).toBe('pending');
    expect(liveSlot()).toBe('blue');

    // Someone who may shift can decide not to, with a reason — and the wait after it likewise.
    await resolveItem(h, id, checklists['shop-release']!, item('shop-release', 'go-green'), {
      resolution: 'skipped',
      actor: DEPLOYER,
      reason: 'green is broken; shipping the notes only',
    });
    await click(id, 'shop-release', 'soak', OUTSIDER, ACTION.itemSkip);
    await ephemeralTo(OUTSIDER, /can skip “Soak on green”/, from);
    await resolveItem(h, id, checklists['shop-release']!, item('shop-release', 'soak'), {
      resolution: 'skipped',
      actor: DEPLOYER,
      reason: 'nothing to soak',
    });
    await settledCheck(h, id, 'runs-version');
    await until(id, (d) => d.status === 'completed', 'completion');
    expect(liveSlot()).toBe('blue');

    // The card and the report say traffic never moved; the headline does not say "deployed".
    expect(await cardText(id)).toContain('traffic not moved (still blue)');
    const report = await reportText(id);
    expect(report).toContain('traffic not moved (still blue)');
    expect(report).not.toMatch(/deployed to production/);
  });
});

describe('2. a sign-off with four eyes and count 2', () => {
  it('is cleared only by two distinct signers other than the requester: no skip, no n/a', async () => {
    const { id, channel } = await startDeployment(h, 'shop', '2.0.0', REQUESTER);
    const list = checklists['shop-release']!;
    const approve = item('shop-release', 'approve');
    const from = h.slack.ephemerals.length;
    const views = h.slack.views.length;

    await click(id, 'shop-release', 'approve', REQUESTER, ACTION.itemDone);
    await ephemeralTo(REQUESTER, /someone else has to sign off \(four eyes\)/, from);
    // No Skip… or N/A on a sign-off without `waivable_by`: a stale message or a crafted payload still
    // reaches the engine, which refuses.
    const where = await messageOf(h, id, list, approve);
    const shown = JSON.stringify(h.slack.message(where.channel, where.ts)?.blocks);
    expect(shown).not.toContain(
      `"action_id":"${ACTION.itemSkip}","text":{"type":"plain_text","text":"Skip…"},"value":"${id}|approve"`,
    );
    await forgeSubmission(
      h,
      REQUESTER,
      VIEW.skipItem,
      { channel, deploymentId: id, target: 'approve' },
      'I approve my own',
    );
    await h.driver.clickButton(REQUESTER, where, { actionId: ACTION.itemDone, value: `${id}|approve` });
    await forgeAction(h, REQUESTER, where, { actionId: ACTION.itemNotApplicable, value: `${id}|approve` });
    await ephemeralTo(REQUESTER, /A sign-off cannot be skipped or marked n\/a/, from);

    // One approver signs once, then tries to finish it alone.
    await resolveItem(h, id, list, approve, { resolution: 'done', actor: APPROVER_1, untilResolved: false });
    await forgeAction(h, APPROVER_1, where, { actionId: ACTION.itemNotApplicable, value: `${id}|approve` });
    await forgeSubmission(
      h,
      APPROVER_1,
      VIEW.skipItem,
      { channel, deploymentId: id, target: 'approve' },
      'second approver is out',
    );
    await waitUntil(async () => (await refusals(id, APPROVER_1)).length >= 2, 'the approver refused');
    expect((await state(id)).items.approve).toMatchObject({
      status: 'pending',
      signatures: [{ by: APPROVER_1 }],
    });
    expect(h.slack.views.length).toBe(views);

    await resolveItem(h, id, list, approve, { resolution: 'done', actor: APPROVER_2 });
    const signed = (await state(id)).items.approve!;
    expect(signed.status).toBe('done');
    expect(new Set(signed.signatures?.map((signature) => signature.by))).toEqual(
      new Set([APPROVER_1, APPROVER_2]),
    );
    expect((await refusals(id, REQUESTER)).map((event) => event.code)).toEqual(
      expect.arrayContaining(['four_eyes', 'not_waivable']),
    );
  });
});

describe('3. items without an owner, and escalations', () => {
  it('belong to the deployers: nobody else marks them done or acknowledges', async () => {
    const { id } = await startDeployment(h, 'notes', '3.0.0', REQUESTER);
    const from = h.slack.ephemerals.length;
    await click(id, 'notes-release', 'notes', OUTSIDER, ACTION.itemDone);
    await ephemeralTo(
      OUTSIDER,
      /Only the requester or the \*deployer\* role can change “Write the release notes”/,
      from,
    );
    expect((await state(id)).items.notes?.status).toBe('pending');

    // The chain calls on-call; someone in no role, or in an unrelated one, may not answer for them.
    const key = 'phase:write';
    const ts = await waitUntil(
      () => h.bot.store.message(id, escalationMessageKey(key, 1, 1)),
      'the escalation message',
    );
    const where = { channel: 'C0NOTES', ts };
    for (const user of [OUTSIDER, QA]) {
      await h.driver.clickButton(user, where, { actionId: ACTION.escalationAcknowledge });
      await ephemeralTo(user, /can acknowledge this escalation/, from);
    }
    expect((await state(id)).escalations?.[key]?.acknowledgedBy).toBeUndefined();
    // The owner of what waits (ops) may, and so may the role the level called.
    await h.driver.clickButton(ONCALL, where, { actionId: ACTION.escalationAcknowledge });
    await until(id, (d) => d.escalations?.[key]?.acknowledgedBy === ONCALL, 'the acknowledgement');
    expect((await refusals(id, QA)).map((event) => event.action)).toEqual(['acknowledge-escalation']);
  });
});

describe('4. a rollback before anything moved', () => {
  it('blue-green: moves nothing, says so, and still walks the rollback checklist', async () => {
    const { id } = await startDeployment(h, 'shop', '4.0.0', REQUESTER);
    const patches = infra.fakeKube.requests.filter((r) => r.verb === 'patch').length;
    const views = h.slack.views.length;
    await h.driver.slash(REQUESTER, 'C0SHOP', '/deploy', 'rollback shop testing');
    await h.driver.submitView(REQUESTER, (await modal(views, VIEW.rollback)).id, { reason: 'testing' });
    const rolled = await until(id, (d) => d.status === 'rolled_back', 'the rollback');
    expect(liveSlot()).toBe('blue');
    expect(infra.fakeKube.requests.filter((r) => r.verb === 'patch')).toHaveLength(patches);
    expect(rolled.rollback?.after?.slot).toBe('blue');
    expect(rolled.items['back-to-blue']).toMatchObject({ status: 'done', by: 'flightdeck' });
    await h.bot.context.presenter.idle();
    const { channel, ts } = await cardOf(id);
    const thread = h.slack.thread(channel, ts).map((message) => message.text);
    expect(thread).toContain('↩️ shop 4.0.0 rolled back — nothing to move back: blue was live and still is');
  });

  it('rolling: returns to the revision live at the start, not "the previous revision"', async () => {
    const before = deploymentOf('api', 'api');
    const { id } = await startDeployment(h, 'api', '4.1.0', REQUESTER);
    expect((await state(id)).liveAtStart).toMatchObject({ revision: Number(before.revision) });
    const views = h.slack.views.length;
    await h.driver.slash(REQUESTER, 'C0API', '/deploy', 'rollback api not yet applied');
    await h.driver.submitView(REQUESTER, (await modal(views, VIEW.rollback)).id, { reason: 'not applied' });
    await until(id, (d) => d.status === 'rolled_back', 'the rollback');
    // Nothing was applied yet: the Deployment still runs what it ran (the old code went back one further).
    expect(deploymentOf('api', 'api')).toMatchObject({ image: before.image, revision: before.revision });

    const second = await startDeployment(h, 'api', '4.2.0', REQUESTER);
    await release('api', 'api', 'api:4.2.0');
    const views2 = h.slack.views.length;
    await h.driver.slash(REQUESTER, 'C0API', '/deploy', 'rollback api 4.2.0 is bad');
    await h.driver.submitView(REQUESTER, (await modal(views2, VIEW.rollback)).id, { reason: '4.2.0 bad' });
    await until(second.id, (d) => d.status === 'rolled_back', 'the second rollback', 30_000);
    await waitUntil(() => deploymentOf('api', 'api').rolledOut, 'the undo to roll out');
    expect(deploymentOf('api', 'api').image).toBe(before.image);
  });
});

describe('5. a superseded deployment', () => {
  it('cannot be rolled back from its card: refused with a link, and the button is gone', async () => {
    const first = await shopCompleted('5.0.0');
    expect(await cardText(first)).toContain(ACTION.deploymentRollback);
    const second = await startDeployment(h, 'shop', '5.1.0', REQUESTER);
    await until(first, (d) => d.supersededBy?.id === second.id, 'the first to be superseded');
    expect(await cardText(first)).not.toContain(ACTION.deploymentRollback);
    expect(await cardText(first)).toContain('5.1.0');

    // A stale card (the button as it was) still reaches the bot: refused, privately, with a link.
    const from = h.slack.ephemerals.length;
    const card = await cardOf(first);
    await forgeAction(h, REQUESTER, card, { actionId: ACTION.deploymentRollback, value: `${first}|card` });
    await ephemeralTo(REQUESTER, /5\.1\.0 has started since.*nothing was rolled back/, from);
    expect((await state(first)).status).toBe('completed');
    expect((await state(second.id)).status).toBe('active');
    expect(liveSlot()).toBe('green');
  });
});

describe('6. after completion', () => {
  it('the triggers keep watching, and an automatic one rolls back to what was live', async () => {
    const id = await shopCompleted('6.0.0');
    expect(liveSlot()).toBe('green');
    expect(await cardText(id)).toMatch(/watching for \d+ more (minutes|seconds)/);
    infra.http.setHealth('shop', 500);
    const rolled = await until(id, (d) => d.status === 'rolled_back', 'the automatic rollback', 20_000);
    expect(rolled.rollback?.trigger?.id).toBe('health');
    expect(liveSlot()).toBe('blue');
    expect(await reportText(id)).toContain('Health endpoint failing for 1 second');
  });
});

describe('7. a fired trigger without automatic rollback, and a pause', () => {
  it('holds the next shift until someone who may roll back overrides it with a reason', async () => {
    const { id } = await startDeployment(h, 'web', '7.0.0', REQUESTER);
    const list = checklists['web-canary']!;
    await shiftTraffic(h, id, list, item('web-canary', 'canary-10'), DEPLOYER);
    infra.http.setHealth('web', 503);
    const fired = await until(id, (d) => d.firedGuards?.health !== undefined, 'the trigger to fire', 20_000);
    // "monitor 10 minutes, if healthy increase": the watch is skipped with a reason, the next shift held.
    await resolveItem(h, id, list, item('web-canary', 'watch-10'), {
      resolution: 'skipped',
      actor: DEPLOYER,
      reason: 'seen enough',
    });
    const from = h.slack.ephemerals.length;
    await click(id, 'web-canary', 'canary-50', DEPLOYER, ACTION.trafficShift);
    await ephemeralTo(DEPLOYER, /Held: the rollback trigger “health” fired/, from);
    expect(canaryWeight()).toBe('10');

    // The override: on the trigger's message, a reason, only those who may roll back.
    const alert = await waitUntil(
      () => h.bot.store.message(id, triggerAlertKey('health', fired.firedGuards?.health ?? 0)),
      'the trigger message',
    );
    const where = { channel: 'C0WEB', ts: alert };
    const views = h.slack.views.length;
    await h.driver.clickButton(OUTSIDER, where, { actionId: ACTION.triggerOverride });
    await ephemeralTo(OUTSIDER, /override a rollback trigger’s hold/, from);
    await h.driver.clickButton(DEPLOYER, where, { actionId: ACTION.triggerOverride });
    await h.driver.submitView(DEPLOYER, (await modal(views, VIEW.overrideTrigger)).id, {
      reason: 'the health check is flaky; error rate is flat',
    });
    await until(id, (d) => d.guardOverrides?.health !== undefined, 'the override');
    await shiftTraffic(h, id, list, item('web-canary', 'canary-50'), DEPLOYER);
    expect(canaryWeight()).toBe('50');
  });

  it('pausing holds the escalation chain; resuming starts it again from where it was', async () => {
    const { id } = await startDeployment(h, 'notes', '7.1.0', REQUESTER);
    const card = await cardOf(id);
    await h.driver.clickButton(REQUESTER, card, { actionId: ACTION.deploymentPause });
    await until(id, (d) => d.status === 'paused', 'the pause');
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // twice the level's 600 ms
    expect((await state(id)).escalations?.['phase:write']?.level).toBe(0);
    const resumedAt = Date.now();
    await h.driver.clickButton(REQUESTER, await cardOf(id), { actionId: ACTION.deploymentResume });
    const climbed = await until(id, (d) => (d.escalations?.['phase:write']?.level ?? 0) >= 1, 'level 1');
    // It had not waited at all before the pause: the level fires a full 600 ms after the resume, not at once.
    expect(Date.now() - resumedAt).toBeGreaterThanOrEqual(400);
    expect(climbed.escalations?.['phase:write']?.level).toBe(1);
  });
});

describe('8. the version', () => {
  it('is verified on the cluster: the image check fails while the old image runs, and the report names it', async () => {
    await release('shop', 'shop-green', 'shop:7.9.0');
    const { id } = await startDeployment(h, 'shop', '8.0.0', REQUESTER);
    await prepareShop(id);
    await shiftTraffic(h, id, checklists['shop-release']!, item('shop-release', 'go-green'), DEPLOYER);
    await watchedOut(h, id, 'soak');
    const failed = await settledCheck(h, id, 'runs-version');
    expect(failed.status).toBe('failed');
    expect(failed.result?.summary).toContain('runs shop:7.9.0, not 8.0.0');
    expect((await state(id)).status).toBe('active');

    await release('shop', 'shop-green', 'shop:8.0.0');
    await h.bot.context.presenter.idle();
    const where = await messageOf(h, id, checklists['shop-release']!, item('shop-release', 'runs-version'));
    await h.driver.selectOverflow(DEPLOYER, where, {
      actionId: ACTION.checkMenu,
      value: `rerun|${id}|runs-version`,
    });
    await until(id, (d) => d.status === 'completed', 'completion with the version verified');
    expect(await reportText(id)).toContain('shop:8.0.0');
  });
});
