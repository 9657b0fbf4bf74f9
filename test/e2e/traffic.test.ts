import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Item } from '../../src/checklists/schema.js';
import { rolloutStatus } from '../../src/checks/kubernetes/rollout.js';
import { fileConfigSchema } from '../../src/config/schema.js';
import type { Deployment } from '../../src/deployments/model.js';
import { type SimulatedInfra, startSimulatedInfra } from '../../src/sandbox/infra/simulated-infra.js';
import type { KubeObject } from '../../src/sandbox/kube/types.js';
import type { JsonObject } from '../../src/sandbox/slack/block-kit-rules.js';
import type { FakeView } from '../../src/sandbox/slack/types.js';
import { ACTION, VIEW } from '../../src/slack/action-ids.js';
import {
  rollbackMessageKey,
  trafficFailureKey,
  trafficUnknownKey,
} from '../../src/slack/render/operations.js';
import { REPORT_KEY } from '../../src/slack/render/report.js';
import { CARD_KEY } from '../../src/slack/render/status-card.js';
import { ROLLED_BACK } from '../../src/traffic/rolling.js';
import { type Harness, startHarness } from '../support/harness.js';
import {
  buttonShown,
  messageOf,
  resolveItem,
  settledCheck,
  shiftTraffic,
  startDeployment,
  waitUntil,
  watchedOut,
} from './walk.js';

/**
 * Traffic and rollback from Slack, end to end: `/deploy traffic|rollback|pause|resume`, the Shift button
 * on a traffic step and Roll back… on the card, carried out by the real workers on a simulated cluster
 * (the fake API server through the real client, with a Deployment controller), read back from the
 * cluster and reported in the thread. Three services: an ingress-nginx canary, a blue-green pair and a
 * rolling Deployment.
 */

const DEPLOYER = 'U0DEPLOYER';
const OUTSIDER = 'U0OUTSIDER';
/** Ten minutes of watching take 300 ms. */
const TIME_SCALE = 0.0005;

let infra: SimulatedInfra;
let h: Harness;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fd-traffic-'));
  await mkdir(join(dir, 'checklists'));
  const checklists = {
    'canary-release': {
      title: 'Canary release',
      phases: [
        {
          id: 'rollout',
          title: 'Canary',
          sequential: true,
          items: [
            { id: 'canary-10', kind: 'traffic', title: 'Canary 10%', traffic: { weight: 10 } },
            { id: 'watch-10', kind: 'wait', title: 'Watch the canary at 10%', wait: { duration: '10m' } },
            { id: 'canary-50', kind: 'traffic', title: 'Canary 50%', traffic: { weight: 50 } },
          ],
        },
        {
          id: 'promote',
          title: 'Promote',
          items: [{ id: 'promoted', kind: 'manual', title: 'Stable runs the new version' }],
        },
      ],
    },
    'blue-green-release': {
      title: 'Blue-green release',
      phases: [
        {
          id: 'prepare',
          title: 'Prepare green',
          items: [
            { id: 'smoke', kind: 'manual', title: 'Smoke-test green' },
            { id: 'soak', kind: 'wait', title: 'Soak green', wait: { duration: '1h' } },
          ],
        },
        {
          id: 'switch',
          title: 'Switch',
          items: [{ id: 'go-green', kind: 'traffic', title: 'Switch to green', traffic: { slot: 'green' } }],
        },
      ],
      rollback: {
        phases: [
          {
            id: 'after-rollback',
            title: 'Rollback checklist',
            items: [
              {
                id: 'back-to-blue',
                kind: 'traffic',
                title: 'Traffic back on blue',
                traffic: { slot: 'blue' },
              },
              {
                id: 'service-there',
                kind: 'check',
                title: 'The shop Service is there',
                check: {
                  type: 'kubernetes',
                  check: 'exists',
                  api_version: 'v1',
                  kind: 'Service',
                  name: 'shop',
                },
              },
              { id: 'tell-support', kind: 'manual', title: 'Tell support', owner: 'deployer' },
            ],
          },
        ],
      },
    },
    'rolling-release': {
      title: 'Rolling release',
      phases: [
        {
          id: 'rollout',
          title: 'Roll out',
          items: [{ id: 'applied', kind: 'manual', title: 'kubectl apply the new image' }],
        },
        {
          id: 'verify',
          title: 'Verify',
          items: [{ id: 'verified', kind: 'manual', title: 'Smoke tests pass' }],
        },
      ],
    },
  };
  for (const [id, checklist] of Object.entries(checklists))
    await writeFile(join(dir, 'checklists', `${id}.yaml`), stringify({ id, ...checklist }));
  const file = fileConfigSchema.parse({
    time_scale: TIME_SCALE,
    // No escalations: this file is about traffic, and their replies would crowd the threads.
    escalation: { levels: [] },
    services: {
      web: {
        checklist: 'canary-release',
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
      shop: {
        checklist: 'blue-green-release',
        channel: 'C0SHOP',
        namespace: 'shop',
        kubernetes: { deployment: 'shop-green', service: 'shop', selector: 'app=shop' },
        traffic: { strategy: 'blue-green', service: 'shop' },
        deployers: ['deployer'],
      },
      api: {
        checklist: 'rolling-release',
        channel: 'C0API',
        namespace: 'api',
        kubernetes: { deployment: 'api', service: 'api', selector: 'app=api' },
        traffic: { strategy: 'rolling', deployment: 'api' },
        deployers: ['deployer'],
      },
    },
    roles: { deployer: { users: [DEPLOYER] } },
  });
  infra = await startSimulatedInfra({ file, configDir: dir, prometheus: 'off', controllerDelayMs: 50 });
  const configPath = join(dir, 'flightdeck.yaml');
  await writeFile(configPath, stringify({ ...infra.file, checklists_dir: join(dir, 'checklists') }));
  // A write whose outcome is unknown is read again 50 ms, 100 ms, 200 ms … apart (1 s … 30 s in production).
  h = await startHarness({ configPath, kube: infra.kube, traffic: { rereadMs: 50, rereadMaxMs: 200 } });
}, 60_000);

afterAll(async () => {
  await h?.stop();
  await infra?.stop();
});

// Each test starts without active deployments, faults or shifted traffic, even after a failure half-way.
afterEach(async () => {
  infra.fakeKube.clearFaults();
  if (canaryWeight() !== '0')
    infra.fakeKube.update<Annotated>(CANARY, (ingress) => {
      ingress.metadata.annotations = { ...ingress.metadata.annotations, [WEIGHT]: '0' };
    });
  if (liveSlot() !== 'blue')
    infra.fakeKube.update<KubeObject & { spec: { selector: Record<string, string> } }>(
      SHOP_SERVICE,
      (svc) => {
        svc.spec.selector.slot = 'blue';
      },
    );
  for (const service of ['web', 'shop', 'api']) {
    infra.controller.unstall(service, service);
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
  await h.bot.context.presenter.idle();
});

// ---------------------------------------------------------------------------------------------------
// What the cluster shows

type Annotated = KubeObject & { metadata: { annotations?: Record<string, string> } };
type ApiDeployment = KubeObject & {
  spec: { template: { spec: { containers: { image: string }[] } } };
  status: Record<string, unknown>;
};

const CANARY = 'Ingress/web/web-canary';
const SHOP_SERVICE = 'Service/shop/shop';
const API = 'Deployment/api/api';

const WEIGHT = 'nginx.ingress.kubernetes.io/canary-weight';

function canaryWeight(): string | undefined {
  return infra.fakeKube.get<Annotated>(CANARY)?.metadata.annotations?.[WEIGHT];
}

function liveSlot(): string | undefined {
  return infra.fakeKube.get<KubeObject & { spec: { selector: Record<string, string> } }>(SHOP_SERVICE)?.spec
    .selector.slot;
}

function api() {
  const deployment = infra.fakeKube.get<ApiDeployment>(API)!;
  return {
    image: deployment.spec.template.spec.containers[0]!.image,
    revision: deployment.metadata?.annotations?.['deployment.kubernetes.io/revision'],
    rolledOut: rolloutStatus(deployment as never).done,
  };
}

/** The team's own `kubectl set image` (through the API), then the controller rolls it out. */
async function rollOutImage(image: string): Promise<void> {
  await infra.fakeKube.clients().apps.patchNamespacedDeployment({
    name: 'api',
    namespace: 'api',
    body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: image }],
  });
  await waitUntil(() => api().image === image && api().rolledOut, `${image} to roll out`);
}

// ---------------------------------------------------------------------------------------------------
// What Flightdeck shows

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

async function cardOf(id: string) {
  const ts = await waitUntil(() => h.bot.store.message(id, CARD_KEY), 'the status card');
  return { channel: (await state(id)).channel, ts };
}

/** The card's blocks as text, once Slack shows the latest state. */
async function cardText(id: string): Promise<string> {
  await h.bot.context.presenter.idle();
  const { channel, ts } = await cardOf(id);
  return JSON.stringify(h.slack.message(channel, ts)?.blocks);
}

/** The thread's messages about rollbacks (each rollback is one message, updated in place). */
async function rollbackMessages(id: string) {
  await h.bot.context.presenter.idle();
  const { channel, ts } = await cardOf(id);
  return h.slack
    .thread(channel, ts)
    .filter((message) => /^(↩️ Roll(ed|ing) back|⚠️ Rollback of)/.test(message.text));
}

/** The private answer `user` gets after `from` ephemerals were shown. */
function ephemeralTo(user: string, pattern: RegExp, from: number) {
  return h.slack.waitFor(
    () => h.slack.ephemerals.slice(from).find((e) => e.user === user && pattern.test(e.text)),
    { what: `a private answer to ${user} matching ${pattern}` },
  );
}

/** The modal that opens after `from` views were opened, checked to be the expected one. */
async function modal(from: number, callbackId: string): Promise<FakeView> {
  const view = await h.slack.waitFor(() => h.slack.views[from], { what: `the ${callbackId} modal` });
  expect(view.view.callback_id).toBe(callbackId);
  return view;
}

function reasonInput(view: FakeView): JsonObject {
  const blocks = view.view.blocks as JsonObject[];
  return blocks.find((block) => block.type === 'input')?.element as JsonObject;
}

/** A shop deployment with green live (switched with `/deploy traffic`, confirmed in its modal). */
async function shopOnGreen(version: string): Promise<string> {
  const { id } = await startDeployment(h, 'shop', version, DEPLOYER);
  const views = h.slack.views.length;
  await h.driver.slash(DEPLOYER, 'C0SHOP', '/deploy', 'traffic shop green');
  await h.driver.submitView(DEPLOYER, (await modal(views, VIEW.confirmTraffic)).id);
  await until(id, (d) => d.traffic?.current?.slot === 'green', 'the switch');
  return id;
}

async function audit(id: string) {
  return (await h.bot.store.audit(id)).map((entry) => entry.event);
}

/** When run `run` of a watch window started, and until when it watches (from the audit). */
async function windowOf(id: string, itemId: string, run: number): Promise<{ at: number; until: number }> {
  const started = (await audit(id)).find(
    (event) => event.type === 'wait.started' && event.itemId === itemId && event.run === run,
  );
  if (started?.type !== 'wait.started') throw new Error(`no run ${run} of ${itemId} in the audit`);
  return started;
}

/** A click on a message as the person's Slack still shows it (an update had not reached them yet). */
async function clickStale(
  user: string,
  message: JsonObject,
  where: { channel: string; ts: string },
  value: string,
) {
  const action = (message.blocks as JsonObject[])
    .flatMap((block) =>
      ((block.elements as JsonObject[] | undefined) ?? []).map((element) => ({ block, element })),
    )
    .find(({ element }) => element.action_id === ACTION.itemDone && element.value === value);
  if (!action) throw new Error(`no Done button for ${value} on the captured message`);
  const payload = {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: h.slack.teamId },
    api_app_id: h.slack.appId,
    token: 'fake-verification-token',
    container: { type: 'message', message_ts: where.ts, channel_id: where.channel, is_ephemeral: false },
    trigger_id: h.slack.newTriggerId(user),
    team: { id: h.slack.teamId, domain: h.slack.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: where.channel, name: h.slack.channelName(where.channel) },
    message,
    state: { values: {} },
    response_url: h.slack.newResponseUrl({ channel: where.channel, user, messageTs: where.ts }),
    actions: [
      {
        type: 'button',
        action_id: ACTION.itemDone,
        block_id: action.block.block_id,
        text: action.element.text,
        value,
        action_ts: (Date.now() / 1000).toFixed(6),
      },
    ],
  };
  const response = await h.driver.send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
  expect(response.status).toBe(200);
}

// ---------------------------------------------------------------------------------------------------

describe('/deploy traffic', () => {
  it('tells one story with the checklist: its own message, steps it covers done, a jumped watch asked first', async () => {
    const { id } = await startDeployment(h, 'web', '1.5.0', DEPLOYER);
    const card = await cardOf(id);

    // 10%: the first step is done by the command, and the thread says who moved what, read back.
    await h.driver.slash(DEPLOYER, 'C0WEB', '/deploy', 'traffic web 10');
    let current = await until(
      id,
      (d) => d.items['canary-10']?.status === 'done',
      'the step done by the command',
    );
    expect(current.items['canary-10']).toMatchObject({
      by: DEPLOYER,
      reason: expect.stringContaining('by /deploy traffic'),
    });
    await h.bot.context.presenter.idle();
    const shiftMessage = () =>
      h.slack.thread(card.channel, card.ts).filter((message) => message.text.includes('by /deploy traffic'));
    await waitUntil(() => shiftMessage().length === 1 || undefined, 'the shift message');
    expect(JSON.stringify(shiftMessage()[0]?.blocks)).toMatch(
      /shifted traffic with `\/deploy traffic`\* — canary 0% \(stable 100%\) via Ingress web-canary → canary 10% \(stable 90%\) via Ingress web-canary/,
    );
    expect(JSON.stringify(shiftMessage()[0]?.blocks)).toContain('“Canary 10%” done by this shift');

    // From the start, 50% would jump over the watch at 10% (not watched yet): asked first, nothing moves
    // until confirmed.
    await h.bot.deployments.execute(id, {
      type: 'abort',
      actor: 'flightdeck',
      actorRoles: [],
      reason: 'next part',
      at: Date.now(),
    });
    infra.fakeKube.update<Annotated>(CANARY, (ingress) => {
      ingress.metadata.annotations = { ...ingress.metadata.annotations, [WEIGHT]: '0' };
    });
    const second = await startDeployment(h, 'web', '1.5.1', DEPLOYER);
    const secondCard = await cardOf(second.id);
    const views = h.slack.views.length;
    await h.driver.slash(DEPLOYER, 'C0WEB', '/deploy', 'traffic web 50');
    const confirm = await modal(views, VIEW.confirmTraffic);
    expect(JSON.stringify(confirm.view.blocks)).toContain('jumps over “Watch the canary at 10%”');
    expect(JSON.stringify(confirm.view.blocks)).toContain('marks “Canary 10%”, “Canary 50%” done');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(canaryWeight()).toBe('0');
    await h.driver.submitView(DEPLOYER, confirm.id);
    current = await until(second.id, (d) => d.items['canary-50']?.status === 'done', 'the 50% step');
    expect(canaryWeight()).toBe('50');
    expect(current.items['canary-10']).toMatchObject({ status: 'done', by: DEPLOYER });
    expect(current.items['watch-10']).toMatchObject({
      status: 'skipped',
      by: DEPLOYER,
      reason: expect.stringMatching(/^jumped over by \/deploy traffic/),
    });
    await h.bot.context.presenter.idle();
    const jumped = h.slack
      .thread(secondCard.channel, secondCard.ts)
      .filter((message) => message.text.includes('by /deploy traffic'));
    expect(jumped).toHaveLength(1);
    expect(JSON.stringify(jumped[0]?.blocks)).toContain(
      'Watch windows jumped over (skipped): “Watch the canary at 10%”',
    );
  });

  it('shifts the canary weight, reads it back, and the card and audit say who, from where, to where', async () => {
    const { id } = await startDeployment(h, 'web', '1.0.0', DEPLOYER);
    const from = h.slack.ephemerals.length;
    const response = await h.driver.slash(DEPLOYER, 'C0WEB', '/deploy', 'traffic web 25');
    expect(response.status).toBe(200);
    await ephemeralTo(DEPLOYER, /^Shifting web to canary 25%; the thread shows the result\.$/, from);
    const shifted = await until(id, (d) => d.traffic?.current?.weight === 25, 'the shift');
    expect(canaryWeight()).toBe('25');
    expect(shifted.traffic).toMatchObject({
      initial: { weight: 0 },
      current: { weight: 25, description: 'canary 25% (stable 75%) via Ingress web-canary' },
      shifts: [{ by: DEPLOYER, target: { weight: 25 }, before: { weight: 0 }, after: { weight: 25 } }],
    });
    expect((await audit(id)).find((event) => event.type === 'traffic.shifted')).toMatchObject({
      actor: DEPLOYER,
      target: { weight: 25 },
      before: { weight: 0, description: 'canary 0% (stable 100%) via Ingress web-canary' },
      after: { weight: 25, description: 'canary 25% (stable 75%) via Ingress web-canary' },
    });
    expect(await cardText(id)).toContain('*Traffic:* canary 25% (stable 75%) via Ingress web-canary');
  });

  it('asks first before full traffic or a slot switch, and changes nothing until the confirmation', async () => {
    const web = await startDeployment(h, 'web', '1.1.0', DEPLOYER);
    const ingressVersions = infra.fakeKube.history(CANARY).length;
    let views = h.slack.views.length;
    await h.driver.slash(DEPLOYER, 'C0WEB', '/deploy', 'traffic web 100');
    const full = await modal(views, VIEW.confirmTraffic);
    expect(JSON.stringify(full.view.blocks)).toContain('Shift *web* to canary 100%?');
    await new Promise((resolve) => setTimeout(resolve, 300)); // time for anything that should not happen
    expect(canaryWeight()).toBe('0');
    expect(infra.fakeKube.history(CANARY)).toHaveLength(ingressVersions);
    expect((await state(web.id)).operation).toBeUndefined();
    await h.driver.submitView(DEPLOYER, full.id);
    await until(web.id, (d) => d.traffic?.current?.weight === 100, 'full traffic');
    expect(canaryWeight()).toBe('100');

    const shop = await startDeployment(h, 'shop', '2.0.0', DEPLOYER);
    views = h.slack.views.length;
    await h.driver.slash(DEPLOYER, 'C0SHOP', '/deploy', 'traffic shop green');
    const slot = await modal(views, VIEW.confirmTraffic);
    expect(JSON.stringify(slot.view.blocks)).toContain('Shift *shop* to the green slot?');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(liveSlot()).toBe('blue');
    await h.driver.submitView(DEPLOYER, slot.id);
    await until(shop.id, (d) => d.traffic?.current?.slot === 'green', 'the switch to green');
    expect(liveSlot()).toBe('green');
    expect(await cardText(shop.id)).toContain('*Traffic:* green live via Service shop (selector slot=green)');
  });
});

describe('who may', () => {
  it('refuses someone outside the deployers privately, everywhere, and the cluster does not change', async () => {
    const { id, channel } = await startDeployment(h, 'web', '2.0.0', DEPLOYER);
    const ingressVersions = infra.fakeKube.history(CANARY).length;
    const views = h.slack.views.length;
    const { checklist } = (await h.bot.store.load(id))!;

    let from = h.slack.ephemerals.length;
    await h.driver.slash(OUTSIDER, channel, '/deploy', 'traffic web 30');
    await ephemeralTo(OUTSIDER, /^Only the requester or the \*deployer\* role can shift traffic/, from);

    from = h.slack.ephemerals.length;
    await h.driver.slash(OUTSIDER, channel, '/deploy', 'traffic web 100');
    await ephemeralTo(OUTSIDER, /can shift traffic for this deployment\. Nothing changed\.$/, from);

    from = h.slack.ephemerals.length;
    await h.driver.slash(OUTSIDER, channel, '/deploy', 'rollback web I do not like it');
    await ephemeralTo(OUTSIDER, /^Only the requester or the \*deployer\* role can roll back/, from);

    const step = checklist.phases[0]!.items[0]!;
    const where = await messageOf(h, id, checklist, step);
    await buttonShown(h, where, ACTION.trafficShift, `${id}|${step.id}`);
    from = h.slack.ephemerals.length;
    await h.driver.clickButton(OUTSIDER, where, { actionId: ACTION.trafficShift, value: `${id}|${step.id}` });
    await ephemeralTo(OUTSIDER, /can shift traffic for “Canary 10%”/, from);

    from = h.slack.ephemerals.length;
    await h.driver.clickButton(OUTSIDER, await cardOf(id), { actionId: ACTION.deploymentRollback });
    await ephemeralTo(OUTSIDER, /can roll back this deployment/, from);

    expect(h.slack.views).toHaveLength(views); // no modal was even offered
    expect(infra.fakeKube.history(CANARY)).toHaveLength(ingressVersions);
    expect(canaryWeight()).toBe('0');
    const current = await state(id);
    expect(current).toMatchObject({ status: 'active', items: { [step.id]: { status: 'pending' } } });
    expect(current.operation).toBeUndefined();
    const types = (await audit(id)).map((event) => event.type);
    expect(types.filter((type) => type.startsWith('traffic.') || type.startsWith('rollback.'))).toEqual([]);
  });
});

describe('traffic steps in the thread', () => {
  it('Shift carries a step out, its watch window runs out by itself; a 403 fails it visibly, a 409 is retried', async () => {
    const { id } = await startDeployment(h, 'web', '3.0.0', DEPLOYER);
    const { checklist } = (await h.bot.store.load(id))!;
    const [canary10, watch10, canary50] = checklist.phases[0]!.items as [Item, Item, Item];
    const where = await messageOf(h, id, checklist, canary10);
    const value = `${id}|${canary10.id}`;
    const ingressVersions = infra.fakeKube.history(CANARY).length;

    // RBAC says no: the step fails, the thread says why and what serves users now, nothing changed.
    const lift = infra.fakeKube.forbid('patch', 'ingresses');
    await buttonShown(h, where, ACTION.trafficShift, value);
    await h.driver.clickButton(DEPLOYER, where, { actionId: ACTION.trafficShift, value });
    const failed = await until(id, (d) => d.items[canary10.id]?.status === 'failed', 'the step to fail');
    const run = failed.items[canary10.id]!.run!;
    await h.bot.context.presenter.idle();
    const replyTs = await waitUntil(
      () => h.bot.store.message(id, trafficFailureKey(run)),
      'the failure reply',
    );
    const reply = h.slack.message(where.channel, replyTs)!;
    expect(reply.thread_ts).toBe((await cardOf(id)).ts);
    expect(reply.text).toMatch(
      /^🔀 Shifting to canary 10% failed: no permission to patch Ingress web\/web-canary: .*forbidden/,
    );
    expect(JSON.stringify(reply.blocks)).toContain(
      '*The cluster shows:* canary 0% (stable 100%) via Ingress web-canary',
    );
    // Said from what was read: the API refused the write, and the state above is what Flightdeck read.
    expect(JSON.stringify(reply.blocks)).toContain(
      'Nothing was half-applied: the API refused the change, and the state above is what Flightdeck read.',
    );
    expect(infra.fakeKube.history(CANARY)).toHaveLength(ingressVersions);
    expect(canaryWeight()).toBe('0');

    // Once the permission is there, the same button works.
    lift();
    await h.driver.clickButton(DEPLOYER, where, { actionId: ACTION.trafficShift, value });
    const done = (await until(id, (d) => d.items[canary10.id]?.status === 'done', 'the step, pressed again'))
      .items[canary10.id];
    expect(done).toMatchObject({ status: 'done', by: DEPLOYER, result: { outcome: 'passed', attempts: 1 } });
    expect(canaryWeight()).toBe('10');

    // The watch window after it runs out by itself: 10 minutes at this time scale.
    const watched = await watchedOut(h, id, watch10.id, 10_000);
    expect(watched).toMatchObject({ status: 'done', by: 'flightdeck' });
    const started = await windowOf(id, watch10.id, 1);
    expect(started.until - started.at).toBe(10 * 60_000 * TIME_SCALE);
    expect(watched.at).toBeGreaterThanOrEqual(started.until);

    // Someone else writes the Ingress between our read and our write: re-read, write again.
    infra.fakeKube.requests.length = 0;
    infra.fakeKube.conflictNext('ingresses');
    const retried = await shiftTraffic(h, id, checklist, canary50, DEPLOYER);
    expect(retried.result).toMatchObject({ outcome: 'passed', attempts: 2 });
    expect(
      infra.fakeKube.requests
        .filter((r) => r.verb === 'patch' && r.resource === 'ingresses')
        .map((r) => r.status),
    ).toEqual([409, 200]);
    expect(canaryWeight()).toBe('50');
    expect((await audit(id)).filter((event) => event.type === 'traffic.shifted')).toHaveLength(2);
  });
});

describe('/deploy rollback and Roll back…', () => {
  it('a canary: a modal with the reason first, then weight 0, rolled back, the lock free, one message', async () => {
    const { id } = await startDeployment(h, 'web', '4.0.0', DEPLOYER);
    await h.driver.slash(DEPLOYER, 'C0WEB', '/deploy', 'traffic web 25');
    await until(id, (d) => d.traffic?.current?.weight === 25, 'the shift to 25%');

    const views = h.slack.views.length;
    await h.driver.slash(DEPLOYER, 'C0WEB', '/deploy', 'rollback web error rate up since 25%');
    const view = await modal(views, VIEW.rollback);
    expect(reasonInput(view).initial_value).toBe('error rate up since 25%');
    expect(JSON.stringify(view.view.blocks)).toContain(
      'Roll back *web 4.0.0* to what was live when it started: “canary 0% (stable 100%)',
    );
    expect(canaryWeight()).toBe('25'); // nothing before the modal is submitted
    await h.driver.submitView(DEPLOYER, view.id); // the pre-filled reason, as it is

    const rolledBack = await until(id, (d) => d.status === 'rolled_back', 'the rollback');
    expect(canaryWeight()).toBe('0');
    expect(rolledBack.rollback).toMatchObject({
      requestedBy: DEPLOYER,
      reason: 'error rate up since 25%',
      before: { weight: 25 },
      after: { weight: 0 },
    });
    // Seconds, not the runbooks' five minutes.
    expect(rolledBack.rollback?.durationMs).toBeLessThan(10_000);
    expect(await h.bot.store.activeFor('web', 'production')).toBeUndefined();

    const messages = await rollbackMessages(id);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.text).toMatch(/^↩️ Rolled back web 4\.0\.0 in \d+(ms|s)$/);
    const text = JSON.stringify(messages[0]!.blocks);
    expect(text).toContain('*Before:* canary 25% (stable 75%) via Ingress web-canary');
    expect(text).toContain('*After:* canary 0% (stable 100%) via Ingress web-canary');
    expect(text).toContain('error rate up since 25%');
    expect(await h.bot.store.message(id, REPORT_KEY)).toBeDefined();
    expect(await cardText(id)).toContain('*Rolled back* in');

    // The lock is free: the next deployment of web starts.
    const next = await startDeployment(h, 'web', '4.0.1', DEPLOYER);
    expect(next.id).not.toBe(id);
  });

  it('blue-green from the card: back to the slot that was live, rolled back', async () => {
    const id = await shopOnGreen('5.0.0');
    const card = await cardOf(id);
    await buttonShown(h, card, ACTION.deploymentRollback);
    const views = h.slack.views.length;
    await h.driver.clickButton(DEPLOYER, card, { actionId: ACTION.deploymentRollback });
    const view = await modal(views, VIEW.rollback);
    expect(reasonInput(view).initial_value).toBeUndefined();
    expect(liveSlot()).toBe('green');
    await h.driver.submitView(DEPLOYER, view.id, { reason: 'checkout fails on green' });

    const rolledBack = await until(id, (d) => d.status === 'rolled_back', 'the rollback');
    expect(liveSlot()).toBe('blue');
    expect(rolledBack.rollback).toMatchObject({ before: { slot: 'green' }, after: { slot: 'blue' } });
    expect(rolledBack.rollback?.durationMs).toBeLessThan(10_000);
    const [message, ...more] = await rollbackMessages(id);
    expect(more).toEqual([]);
    expect(JSON.stringify(message?.blocks)).toContain(
      '*After:* blue live via Service shop (selector slot=blue)',
    );
    expect(await h.bot.store.activeFor('shop', 'production')).toBeUndefined();
  });

  it('then walks the checklist’s rollback phase in the thread: the rollback’s own step done, checks run', async () => {
    const id = await shopOnGreen('5.1.0');
    const views = h.slack.views.length;
    await h.driver.slash(DEPLOYER, 'C0SHOP', '/deploy', 'rollback shop checkout fails on green');
    await h.driver.submitView(DEPLOYER, (await modal(views, VIEW.rollback)).id, {
      reason: 'checkout fails on green',
    });
    await until(id, (d) => d.status === 'rolled_back', 'the rollback');
    const { checklist } = (await h.bot.store.load(id))!;
    const items = checklist.rollback!.phases[0]!.items;
    const [back, check, tell] = items as [Item, Item, Item];

    // The phase is posted in the thread after the rollback's message, its check runs on the cluster.
    const where = await messageOf(h, id, checklist, tell);
    expect(await settledCheck(h, id, check.id)).toMatchObject({ status: 'passed' });
    await h.bot.context.presenter.idle();
    const { ts: cardTs } = await cardOf(id);
    const thread = h.slack.thread('C0SHOP', cardTs).map((message) => message.ts);
    const rollbackTs = await h.bot.store.message(id, rollbackMessageKey(2));
    expect(thread.indexOf(where.ts)).toBeGreaterThan(thread.indexOf(rollbackTs!));
    const shown = JSON.stringify(h.slack.message(where.channel, where.ts)?.blocks);
    expect(shown).toContain('↩ R1. Rollback checklist');
    expect(shown).toContain('After the rollback');
    expect(shown).toContain('the rollback did this: blue live');
    expect((await state(id)).items[back.id]).toMatchObject({ status: 'done', by: 'flightdeck' });

    // People finish it with the buttons they know; the deployment stays rolled back.
    await resolveItem(h, id, checklist, tell, { resolution: 'done', actor: DEPLOYER });
    const walked = await until(id, (d) => d.phases['after-rollback']?.status === 'completed', 'the walk');
    expect(walked.status).toBe('rolled_back');
    expect(await cardText(id)).toContain('*After the rollback:* Rollback checklist ✅');
    const reportTs = await h.bot.store.message(id, REPORT_KEY);
    await h.bot.context.presenter.idle();
    expect(JSON.stringify(h.slack.message('C0SHOP', reportTs!)?.blocks)).toContain('Rollback checklist');
  });

  it('rolling: `rollout undo` to the previous revision, and waits for the rollout to complete', async () => {
    const { id } = await startDeployment(h, 'api', '6.0.0', DEPLOYER);
    const previous = api();
    await rollOutImage('api:6.0.0');
    const deployed = api();
    expect(Number(deployed.revision)).toBe(Number(previous.revision) + 1);

    const views = h.slack.views.length;
    await h.driver.slash(DEPLOYER, 'C0API', '/deploy', 'rollback api 6.0.0 leaks memory');
    const view = await modal(views, VIEW.rollback);
    expect(reasonInput(view).initial_value).toBe('6.0.0 leaks memory');
    await h.driver.submitView(DEPLOYER, view.id);

    const rolledBack = await until(id, (d) => d.status === 'rolled_back', 'the rollback');
    // The previous ReplicaSet is running again, renumbered, and its rollout is complete.
    expect(api()).toEqual({
      image: previous.image,
      revision: String(Number(deployed.revision) + 1),
      rolledOut: true,
    });
    expect(rolledBack.rollback).toMatchObject({
      reason: '6.0.0 leaks memory',
      before: { revision: Number(deployed.revision), image: 'api:6.0.0' },
      after: { revision: Number(deployed.revision) + 1, image: previous.image },
    });
    expect(rolledBack.rollback?.after?.description).toContain('rolled out');
    expect(rolledBack.rollback?.durationMs).toBeLessThan(10_000);
    const [message, ...more] = await rollbackMessages(id);
    expect(more).toEqual([]);
    expect(JSON.stringify(message?.blocks)).toContain(
      `*After:* revision ${Number(deployed.revision) + 1} (${previous.image}) of Deployment api: rolled out`,
    );
    expect(await h.bot.store.activeFor('api', 'production')).toBeUndefined();
  });

  it('rolling against a stalled rollout: fails saying what the cluster shows, stays active; Retry finishes it', async () => {
    const { id } = await startDeployment(h, 'api', '7.0.0', DEPLOYER);
    const previous = api();
    await rollOutImage('api:7.0.0');
    const deployed = Number(api().revision);
    infra.controller.stall('api', 'api');
    infra.fakeKube.requests.length = 0;

    const card = await cardOf(id);
    let views = h.slack.views.length;
    await h.driver.clickButton(DEPLOYER, card, { actionId: ACTION.deploymentRollback });
    await h.driver.submitView(DEPLOYER, (await modal(views, VIEW.rollback)).id, { reason: '7.0.0 crashes' });

    const failed = await until(id, (d) => d.rollback?.error !== undefined, 'the rollback to fail');
    expect(failed.status).toBe('active');
    expect(failed.rollback?.error).toBe(
      `rolled back to revision ${deployed - 1}, but deployment "api" exceeded its progress deadline`,
    );
    const undone = deployed + 1;
    const [message, ...more] = await rollbackMessages(id);
    expect(more).toEqual([]);
    expect(message!.text).toBe(
      `⚠️ Rollback of api 7.0.0 failed: rolled back to revision ${deployed - 1}, but deployment "api" exceeded its progress deadline`,
    );
    expect(JSON.stringify(message!.blocks)).toContain(
      `*The cluster shows:* revision ${undone} (${previous.image}) of Deployment api: deployment \\"api\\" exceeded its progress deadline`,
    );
    expect(await cardText(id)).toContain('⚠️ *Rollback failed:*');
    // The checklist goes on meanwhile: nothing holds it.
    const { checklist } = (await h.bot.store.load(id))!;
    await resolveItem(h, id, checklist, checklist.phases[0]!.items[0]!, {
      resolution: 'done',
      actor: DEPLOYER,
    });
    expect(api().rolledOut).toBe(false);

    // The rollout gets going again (the crash-looping pods were fixed); Retry finishes the same rollback.
    infra.controller.unstall('api', 'api');
    await waitUntil(() => api().rolledOut, 'the stalled rollout to complete');
    const where = {
      channel: card.channel,
      ts: (await h.bot.store.message(id, rollbackMessageKey(failed.operations!)))!,
    };
    await buttonShown(h, where, ACTION.deploymentRollback, `${id}|retry`);
    views = h.slack.views.length;
    await h.driver.clickButton(DEPLOYER, where, {
      actionId: ACTION.deploymentRollback,
      value: `${id}|retry`,
    });
    await h.driver.submitView(DEPLOYER, (await modal(views, VIEW.rollback)).id, { reason: '7.0.0 crashes' });

    const rolledBack = await until(id, (d) => d.status === 'rolled_back', 'the retried rollback');
    // Still the version before 7.0.0: the retry did not undo the undo.
    expect(api()).toEqual({ image: previous.image, revision: String(undone), rolledOut: true });
    // What told the retry that its undo was already in place, visible to anyone running kubectl.
    expect(infra.fakeKube.get<Annotated>(API)?.metadata.annotations?.[ROLLED_BACK]).toMatch(
      new RegExp(`^${id} [0-9a-f]{16}$`),
    );
    expect(rolledBack.rollback).toMatchObject({ after: { revision: undone, image: previous.image } });
    expect(
      infra.fakeKube.requests.filter((r) => r.verb === 'patch' && r.resource === 'deployments'),
    ).toHaveLength(1);
    const texts = (await rollbackMessages(id)).map((m) => m.text);

    expect(texts).toHaveLength(2);
    expect(texts[1]).toMatch(/^↩️ Rolled back api 7\.0\.0 in /);
  });

  it('after promotion: a completed deployment can still be rolled back with /deploy rollback', async () => {
    const { id } = await startDeployment(h, 'web', '8.0.0', DEPLOYER);
    const { checklist } = (await h.bot.store.load(id))!;
    const [canary10, watch10, canary50] = checklist.phases[0]!.items;
    await shiftTraffic(h, id, checklist, canary10!, DEPLOYER);
    await watchedOut(h, id, watch10!.id, 10_000);
    await shiftTraffic(h, id, checklist, canary50!, DEPLOYER);
    await resolveItem(h, id, checklist, checklist.phases[1]!.items[0]!, {
      resolution: 'done',
      actor: DEPLOYER,
    });
    await until(id, (d) => d.status === 'completed', 'completion');
    expect(await h.bot.store.activeFor('web', 'production')).toBeUndefined();
    expect(canaryWeight()).toBe('50');

    const views = h.slack.views.length;
    await h.driver.slash(DEPLOYER, 'C0WEB', '/deploy', 'rollback web');
    const view = await modal(views, VIEW.rollback);
    expect(reasonInput(view).initial_value).toBeUndefined();
    await h.driver.submitView(DEPLOYER, view.id, { reason: 'errors an hour after promotion' });
    const rolledBack = await until(id, (d) => d.status === 'rolled_back', 'the rollback after promotion');
    expect(canaryWeight()).toBe('0');
    expect(rolledBack.rollback).toMatchObject({
      reason: 'errors an hour after promotion',
      before: { weight: 50 },
      after: { weight: 0 },
    });
    expect(await rollbackMessages(id)).toHaveLength(1);
  });
});

describe('/deploy pause and resume', () => {
  it('hold the checklist (a click is answered privately) and start a running watch window over', async () => {
    const { id, channel } = await startDeployment(h, 'shop', '9.0.0', DEPLOYER);
    const { checklist } = (await h.bot.store.load(id))!;
    const [smoke, soak] = checklist.phases[0]!.items as [Item, Item];
    const running = await until(id, (d) => d.items[soak.id]?.status === 'running', 'the soak window');
    const where = await messageOf(h, id, checklist, smoke);
    await buttonShown(h, where, ACTION.itemDone, `${id}|${smoke.id}`);
    const seenBeforePause = h.slack.messageJson(h.slack.message(where.channel, where.ts)!);

    let from = h.slack.ephemerals.length;
    await h.driver.slash(DEPLOYER, channel, '/deploy', 'pause shop');
    const paused = await ephemeralTo(DEPLOYER, /^Paused shop \(/, from);
    expect(paused.text).toContain(id);
    expect((await state(id)).status).toBe('paused');
    const card = await cardOf(id);
    await buttonShown(h, card, ACTION.deploymentResume);
    expect(await cardText(id)).not.toContain(ACTION.deploymentPause);
    // The checklist's buttons go away; someone whose Slack still shows them gets a private answer.
    expect(JSON.stringify(h.slack.message(where.channel, where.ts)?.blocks)).not.toContain(ACTION.itemDone);

    from = h.slack.ephemerals.length;
    await clickStale(DEPLOYER, seenBeforePause, where, `${id}|${smoke.id}`);
    await ephemeralTo(DEPLOYER, /^This deployment is paused; resume it first\.$/, from);
    expect((await state(id)).items[smoke.id]?.status).toBe('pending');

    // The window would have run out meanwhile; paused, it does not.
    const windowMs = 60 * 60_000 * TIME_SCALE;
    await new Promise((resolve) => setTimeout(resolve, windowMs + 300));
    expect((await state(id)).items[soak.id]).toMatchObject({
      status: 'running',
      run: running.items[soak.id]!.run,
    });

    from = h.slack.ephemerals.length;
    const resumedAt = Date.now();
    await h.driver.slash(DEPLOYER, channel, '/deploy', 'resume shop');
    await ephemeralTo(DEPLOYER, /^Resumed shop/, from);
    const resumed = await state(id);
    expect(resumed.status).toBe('active');
    // Nobody watched while it was paused: the window starts over.
    expect(resumed.items[soak.id]).toMatchObject({
      status: 'running',
      run: running.items[soak.id]!.run! + 1,
    });
    expect(resumed.items[soak.id]!.at).toBeGreaterThanOrEqual(resumedAt);
    await buttonShown(h, card, ACTION.deploymentPause);
    const watched = await watchedOut(h, id, soak.id, 10_000);
    const restarted = await windowOf(id, soak.id, running.items[soak.id]!.run! + 1);
    expect(restarted.until).toBeGreaterThanOrEqual(resumedAt + windowMs);
    expect(watched.at).toBeGreaterThanOrEqual(restarted.until);
    await resolveItem(h, id, checklist, smoke, { resolution: 'done', actor: DEPLOYER });
  });
});

describe('under faults: what the thread does not know, it says', () => {
  const SHOP_PATH = '/api/v1/namespaces/shop/services/shop';
  /** The API server goes away once the shop Service is patched: its reads fail until `back()`. */
  function apiGoesAwayAfterThePatch(): { back(): void } {
    infra.fakeKube.requests.length = 0;
    let away = true;
    const patched = () => infra.fakeKube.requests.some((r) => r.verb === 'patch' && r.path === SHOP_PATH);
    infra.fakeKube.failNext(
      'get',
      (request) => away && request.path === SHOP_PATH && patched(),
      503,
      Number.POSITIVE_INFINITY,
    );
    return {
      back: () => {
        away = false;
      },
    };
  }

  /** Every version of every message in the deployment's thread (and the card), as text. */
  async function everythingSaid(id: string): Promise<string> {
    await h.bot.context.presenter.idle();
    const { channel, ts } = await cardOf(id);
    const messages = [h.slack.message(channel, ts)!, ...h.slack.thread(channel, ts)];
    return messages
      .flatMap((message) => [message, ...message.history])
      .map((version) => `${version.text}\n${JSON.stringify(version.blocks)}`)
      .join('\n');
  }

  async function switchToGreen(): Promise<void> {
    const views = h.slack.views.length;
    await h.driver.slash(DEPLOYER, 'C0SHOP', '/deploy', 'traffic shop green');
    await h.driver.submitView(DEPLOYER, (await modal(views, VIEW.confirmTraffic)).id);
  }

  it('a switch stored whose answer was lost, then unreadable: "outcome unknown — re-reading" until a read shows green', async () => {
    const { id } = await startDeployment(h, 'shop', '10.0.0', DEPLOYER);
    const api = apiGoesAwayAfterThePatch();
    infra.fakeKube.applyThenDrop('patch', SHOP_PATH);
    await switchToGreen();

    // Green is live, but nobody can read it: the thread says it does not know, and keeps reading.
    const unsure = await until(id, (d) => (d.operation?.uncertain?.reads ?? 0) >= 3, 'three failed reads');
    expect(liveSlot()).toBe('green');
    const run = unsure.operation!.run;
    const ts = await waitUntil(() => h.bot.store.message(id, trafficUnknownKey(run)), 'the unknown message');
    await h.bot.context.presenter.idle();
    const unknown = h.slack.message('C0SHOP', ts)!;
    expect(unknown.text).toMatch(
      /^🔀 Shifting to the green slot: outcome unknown — re-reading \(last try .+, next in \d+m?s\)$/,
    );
    expect(unknown.updates).toBeGreaterThan(0); // each read updates it in place
    expect(await cardText(id)).toContain('*Traffic:* unknown — re-reading');

    api.back();
    const known = await until(id, (d) => d.operation === undefined, 'a read-back');
    expect(known.traffic?.current).toMatchObject({ slot: 'green' });
    expect(known.traffic?.shifts.at(-1)).toMatchObject({
      before: { slot: 'blue' },
      after: { slot: 'green' },
    });
    await h.bot.context.presenter.idle();
    const settled = h.slack.message('C0SHOP', ts)!;
    expect(settled.text).toMatch(
      /^🔀 Shifted to the green slot: a read-back shows it, after \d+m?s of not knowing$/,
    );
    expect(JSON.stringify(settled.blocks)).toContain(
      '*The cluster shows:* green live via Service shop (selector slot=green)',
    );
    expect(await cardText(id)).toContain('*Traffic:* green live via Service shop (selector slot=green)');
    // One message about the switch, and nothing in the thread ever claimed it had not happened.
    const said = await everythingSaid(id);
    expect(said).not.toMatch(/half-applied|refused/i);
    expect(await h.bot.store.message(id, trafficFailureKey(run))).toBeUndefined();
  });

  it('aborted while a switch is in doubt: the report does not claim blue, and the next read records green', async () => {
    const { id } = await startDeployment(h, 'shop', '10.5.0', DEPLOYER);
    const api = apiGoesAwayAfterThePatch();
    infra.fakeKube.applyThenDrop('patch', SHOP_PATH);
    await switchToGreen();
    await until(id, (d) => (d.operation?.uncertain?.reads ?? 0) >= 2, 'two failed reads');
    await h.driver.slash(DEPLOYER, 'C0SHOP', '/deploy', 'abort shop wrong build');
    await until(id, (d) => d.status === 'aborted', 'the abort');
    expect(liveSlot()).toBe('green');
    const reportTs = await waitUntil(() => h.bot.store.message(id, REPORT_KEY), 'the report');
    await h.bot.context.presenter.idle();
    expect(JSON.stringify(h.slack.message('C0SHOP', reportTs)?.blocks)).not.toContain('blue live');

    api.back();
    const known = await until(id, (d) => d.operation === undefined, 'a read-back after the abort');
    expect(known.status).toBe('aborted');
    expect(known.traffic?.current).toMatchObject({ slot: 'green' });
    // The report in the thread now shows the switch the read found.
    await h.bot.context.presenter.idle();
    expect(JSON.stringify(h.slack.message('C0SHOP', reportTs)?.blocks)).toMatch(
      /Traffic steps:\*[^"]*green live/,
    );
  });

  it('a switch that did not land, then unreadable: "nothing was half-applied" only once a read shows blue', async () => {
    const { id } = await startDeployment(h, 'shop', '11.0.0', DEPLOYER);
    const api = apiGoesAwayAfterThePatch();
    infra.fakeKube.failNext('patch', SHOP_PATH, 'reset');
    await switchToGreen();

    const unsure = await until(id, (d) => (d.operation?.uncertain?.reads ?? 0) >= 2, 'two failed reads');
    expect(liveSlot()).toBe('blue');
    expect(await everythingSaid(id)).not.toMatch(/half-applied/i);

    api.back();
    const known = await until(id, (d) => d.operation === undefined, 'a read-back');
    expect(known.traffic?.current).toMatchObject({ slot: 'blue' });
    const ts = (await h.bot.store.message(id, trafficUnknownKey(unsure.operation!.run)))!;
    await h.bot.context.presenter.idle();
    const settled = h.slack.message('C0SHOP', ts)!;
    expect(settled.text).toBe(
      '🔀 Shifting to the green slot did not take: a read-back shows blue live via Service shop (selector slot=blue)',
    );
    expect(JSON.stringify(settled.blocks)).toMatch(
      /Nothing was half-applied: a read-back at .* shows the state above/,
    );
    expect(await cardText(id)).toContain('*Traffic:* blue live via Service shop (selector slot=blue)');
    // The step can be asked for again: nothing is in flight any more.
    await switchToGreen();
    await until(id, (d) => d.traffic?.current?.slot === 'green', 'the switch, asked again');
  });

  it('a rollback stored whose answer was lost: neither failed nor done while unknown, rolled back once a read shows blue', async () => {
    const id = await shopOnGreen('12.0.0');
    const api = apiGoesAwayAfterThePatch();
    infra.fakeKube.applyThenDrop('patch', SHOP_PATH, 500);
    const views = h.slack.views.length;
    await h.driver.slash(DEPLOYER, 'C0SHOP', '/deploy', 'rollback shop checkout fails on green');
    await h.driver.submitView(DEPLOYER, (await modal(views, VIEW.rollback)).id, {
      reason: 'checkout fails on green',
    });

    const unsure = await until(id, (d) => (d.operation?.uncertain?.reads ?? 0) >= 2, 'two failed reads');
    expect(liveSlot()).toBe('blue');
    expect(unsure.status).toBe('active');
    expect(unsure.rollback?.error).toBeUndefined();
    const [message, ...more] = await rollbackMessages(id);
    expect(more).toEqual([]);
    expect(message!.text).toMatch(
      /^↩️ Rolling back shop 12\.0\.0: outcome unknown — re-reading \(last try .+, next in \d+m?s\)$/,
    );
    expect(await cardText(id)).toContain('*Traffic:* unknown — re-reading');

    api.back();
    const rolledBack = await until(id, (d) => d.status === 'rolled_back', 'the rollback, read back');
    expect(rolledBack.rollback).toMatchObject({
      moved: true,
      before: { slot: 'green' },
      after: { slot: 'blue' },
    });
    const [settled, ...others] = await rollbackMessages(id);
    expect(others).toEqual([]);
    expect(settled!.text).toMatch(/^↩️ Rolled back shop 12\.0\.0 in /);
    expect(JSON.stringify(settled!.blocks)).toContain(
      '*After:* blue live via Service shop (selector slot=blue)',
    );
    expect(await cardText(id)).toContain('*Traffic:* blue live via Service shop (selector slot=blue)');
    expect(await everythingSaid(id)).not.toMatch(/half-applied|Rollback of shop 12\.0\.0 failed/i);
  });
});
