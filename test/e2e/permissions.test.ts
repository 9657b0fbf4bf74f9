import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Checklist, Item } from '../../src/checklists/schema.js';
import { fileConfigSchema } from '../../src/config/schema.js';
import type { Command, DeploymentEvent } from '../../src/deployments/engine.js';
import type { Deployment } from '../../src/deployments/model.js';
import {
  PERMISSION_TABLE,
  type PermissionRow,
  USER_KINDS,
  type UserKind,
} from '../../src/deployments/permission-table.js';
import { type SimulatedInfra, startSimulatedInfra } from '../../src/sandbox/infra/simulated-infra.js';
import type { KubeObject } from '../../src/sandbox/kube/types.js';
import type { JsonObject } from '../../src/sandbox/slack/block-kit-rules.js';
import { ACTION } from '../../src/slack/action-ids.js';
import { escalationMessageKey } from '../../src/slack/render/escalation.js';
import { triggerAlertKey } from '../../src/slack/render/operations.js';
import { CARD_KEY } from '../../src/slack/render/status-card.js';
import { type Harness, startHarness } from '../support/harness.js';
import { forgeAction, messageOf, startDeployment, waitUntil } from './walk.js';

/**
 * "Who may do what" (src/deployments/permission-table.ts, the table README.md shows), cell by cell, against
 * the running bot: for every row, each kind of user presses the button (or, where none is offered, sends
 * the payload a crafted client would), through signed requests into the real receiver. A "no" is answered
 * privately, changes nothing and is audited; a "yes" changes what the row says. One checklist holds an
 * item of each kind, in one open phase; a fresh deployment is started whenever a "yes" used up the state a
 * row needs.
 */

const USERS = {
  requester: 'U0REQ', // a deployer, and an approver (four eyes keeps them from signing)
  deployer: 'U0DEP',
  ops: 'U0OPS',
  approver: 'U0APP',
  other: 'U0QA',
  nobody: 'U0OUTSIDER',
  onCall: 'U0ONCALL',
} as const;

/** The item each row is about; the deployment rows act on the card, the escalation or the trigger. */
const ITEM_OF: Record<string, string> = {
  'manual item (owner: a role)': 'm-ops',
  'manual item (no owner)': 'm-none',
  'manual item (owner: anyone)': 'm-anyone',
  check: 'chk',
  'sign-off (count 2, four eyes)': 'sign',
  'sign-off (waivable_by: deployer)': 'waive',
  'traffic step': 'step',
  'watch window': 'soak',
};

function userOf(row: PermissionRow, kind: UserKind): string {
  switch (kind) {
    case 'requester':
      return USERS.requester;
    case 'owner':
      return row.subject.startsWith('sign-off') ? USERS.approver : USERS.ops;
    case 'other role':
      return USERS.other;
    case 'deployer':
      return USERS.deployer;
    case 'nobody':
      return USERS.nobody;
  }
}

const ROLES: Record<string, string[]> = {
  [USERS.requester]: ['deployer', 'approver'],
  [USERS.deployer]: ['deployer'],
  [USERS.ops]: ['ops'],
  [USERS.approver]: ['approver'],
  [USERS.other]: ['qa'],
  [USERS.nobody]: [],
};

let infra: SimulatedInfra;
let h: Harness;
let checklist: Checklist;

beforeAll(async () => {
  const closedPort = await reserveClosedPort();
  const dir = await mkdtemp(join(tmpdir(), 'fd-permissions-'));
  await mkdir(join(dir, 'checklists'));
  const optional = { required: false };
  await writeFile(
    join(dir, 'checklists', 'matrix.yaml'),
    stringify({
      id: 'matrix',
      title: 'One item of each kind',
      four_eyes: true,
      escalation: { levels: [{ after: '300ms', notify: 'on-call' }] },
      phases: [
        {
          id: 'gates',
          title: 'Gates',
          starts_guards: true,
          items: [
            { id: 'hold', kind: 'manual', title: 'Keeps the phase open', owner: 'ops' },
            { id: 'm-ops', kind: 'manual', title: 'Ops step', owner: 'ops', ...optional },
            { id: 'm-none', kind: 'manual', title: 'Step without owner', ...optional },
            { id: 'm-anyone', kind: 'manual', title: 'Step for anyone', owner: 'anyone', ...optional },
            {
              id: 'chk',
              kind: 'check',
              title: 'A port that refuses',
              owner: 'ops',
              check: { type: 'tcp', host: '127.0.0.1', port: closedPort, timeout: '1s', retries: 0 },
              ...optional,
            },
            {
              id: 'sign',
              kind: 'signoff',
              title: 'Two approvers',
              signoff: { role: 'approver', count: 2 },
              ...optional,
            },
            {
              id: 'waive',
              kind: 'signoff',
              title: 'Two approvers, waivable',
              signoff: { role: 'approver', count: 2, waivable_by: 'deployer' },
              ...optional,
            },
            {
              id: 'step',
              kind: 'traffic',
              title: 'Canary 10%',
              owner: 'ops',
              traffic: { weight: 10 },
              ...optional,
            },
            {
              id: 'soak',
              kind: 'wait',
              title: 'Soak',
              owner: 'ops',
              wait: { duration: '10h' },
              ...optional,
            },
          ],
        },
      ],
      rollback: {
        evaluate_every: '200ms',
        triggers: [
          {
            id: 'health',
            title: 'Health endpoint failing',
            condition: { type: 'http', url: '{{health_url}}', timeout: '1s' },
            for: '200ms',
            auto: false,
          },
        ],
      },
    }),
  );
  const file = fileConfigSchema.parse({
    escalation: { levels: [] },
    services: {
      gates: {
        checklist: 'matrix',
        channel: 'C0GATES',
        namespace: 'gates',
        kubernetes: {
          deployment: 'gates-canary',
          stable_deployment: 'gates',
          service: 'gates',
          canary_ingress: 'gates-canary',
          selector: 'app=gates',
        },
        traffic: { strategy: 'canary', provider: 'ingress-nginx', canary_ingress: 'gates-canary' },
        deployers: ['deployer'],
      },
    },
    roles: {
      deployer: { users: [USERS.requester, USERS.deployer] },
      approver: { users: [USERS.requester, USERS.approver, 'U0APP2'] },
      ops: { users: [USERS.ops] },
      qa: { users: [USERS.other] },
      'on-call': { users: [USERS.onCall] },
    },
  });
  infra = await startSimulatedInfra({ file, configDir: dir, prometheus: 'off', controllerDelayMs: 20 });
  const configPath = join(dir, 'flightdeck.yaml');
  await writeFile(configPath, stringify({ ...infra.file, checklists_dir: join(dir, 'checklists') }));
  h = await startHarness({ configPath, kube: infra.kube });
  checklist = h.bot.context.catalogue.checklists.get('matrix') as Checklist;
}, 60_000);

afterAll(async () => {
  await h?.stop();
  await infra?.stop();
});

// A cell that failed half-way must not leave its deployment holding the lock for the next row.
afterEach(async () => {
  const id = await h.bot.store.activeFor('gates', 'production');
  if (id) await finish(id);
});

describe('who may do what, as README.md says', () => {
  it('covers every user kind in every row', () => {
    for (const row of PERMISSION_TABLE) expect(Object.keys(row.who).sort()).toEqual([...USER_KINDS].sort());
  });

  it.each(PERMISSION_TABLE.map((row) => [`${row.subject} · ${row.action}`, row] as const))(
    '%s',
    async (_name, row) => {
      const refused = USER_KINDS.filter((kind) => row.who[kind] !== 'yes');
      const allowed = USER_KINDS.filter((kind) => row.who[kind] === 'yes');
      let id = await prepared(row);
      for (const kind of refused) await expectRefused(row, kind, id);
      for (const [index, kind] of allowed.entries()) {
        if (index > 0) id = await prepared(row, id);
        await expectAllowed(row, kind, id);
      }
      await finish(id);
    },
    60_000,
  );

  it('the role an escalation level called may take it too', async () => {
    const row = PERMISSION_TABLE.find((candidate) => candidate.action === 'acknowledge') as PermissionRow;
    const id = await prepared(row);
    await act(row, USERS.onCall, id);
    await until(id, (d) => d.escalations?.['phase:gates']?.acknowledgedBy === USERS.onCall, 'on-call acks');
    await finish(id);
  });
});

// ---------------------------------------------------------------------------------------------------
// One cell

async function expectRefused(row: PermissionRow, kind: UserKind, id: string): Promise<void> {
  const user = userOf(row, kind);
  const before = observe(row, await state(id));
  const views = h.slack.views.length;
  const from = h.slack.ephemerals.length;
  const audited = (await refusals(id, user)).length;
  await act(row, user, id);
  const answer = await h.slack.waitFor(
    () => h.slack.ephemerals.slice(from).find((ephemeral) => ephemeral.user === user),
    { what: `a private answer to ${kind} (${user}) for ${row.subject} · ${row.action}`, timeoutMs: 5_000 },
  );
  expect(answer.text.length).toBeGreaterThan(0);
  // No dialog to type a reason into, nothing changed — and a "no" (not a "not offered") is on record.
  expect(h.slack.views.length, `${kind}: no dialog`).toBe(views);
  expect(observe(row, await state(id)), `${kind}: unchanged`).toEqual(before);
  if (row.who[kind] === 'no' && !answer.text.startsWith('You have not signed'))
    expect((await refusals(id, user)).length, `${kind}: audited`).toBeGreaterThan(audited);
}

async function expectAllowed(row: PermissionRow, kind: UserKind, id: string): Promise<void> {
  const user = userOf(row, kind);
  await act(row, user, id, 'because the test says so');
  await until(id, (d) => changed(row, d, user), `${kind} (${user}) to ${row.action} ${row.subject}`);
}

/** What a row's action changes, read from the state (compared before and after a refusal). */
function observe(row: PermissionRow, d: Deployment): unknown {
  const itemId = ITEM_OF[row.subject];
  if (itemId) return d.items[itemId];
  return {
    status: d.status,
    escalation: d.escalations?.['phase:gates']?.acknowledgedBy,
    weight: d.traffic?.current?.weight,
    overrides: d.guardOverrides,
    operation: d.operation,
  };
}

function changed(row: PermissionRow, d: Deployment, user: string): boolean {
  const item = d.items[ITEM_OF[row.subject] ?? ''];
  switch (row.action) {
    case 'done':
      return row.subject.startsWith('sign-off')
        ? (item?.signatures ?? []).some((signature) => signature.by === user)
        : item?.status === 'done' && item.by === user;
    case 'skip':
      return item?.status === 'skipped' && item.by === user;
    case 'n/a':
      return item?.status === 'n/a' && item.by === user;
    case 'undo':
      return row.subject.startsWith('sign-off (count')
        ? !(item?.signatures ?? []).some((signature) => signature.by === user)
        : item?.status !== 'done' && item?.status !== 'skipped' && item?.status !== 'n/a';
    case 'override':
      return item?.overridden === true && item.by === user;
    case 'shift':
      return row.subject === 'deployment'
        ? d.traffic?.current?.weight === 10
        : item?.status === 'done' && d.traffic?.current?.weight === 10;
    case 'acknowledge':
      return d.escalations?.['phase:gates']?.acknowledgedBy === user;
    case 'roll back':
      return d.status === 'rolled_back';
    case 'pause':
      return d.status === 'paused';
    case 'abort':
      return d.status === 'aborted';
    case 'override hold':
      return d.guardOverrides?.health?.by === user;
  }
}

/**
 * What a person does for the row's action: press the button where Slack shows it (a payload of the
 * same kind where it shows none), and fill in the dialog when one opens.
 */
async function act(row: PermissionRow, user: string, id: string, reason = 'trying'): Promise<void> {
  const views = h.slack.views.length;
  const told = h.slack.ephemerals.length;
  const submitIfOpened = (who: string, from: number, why: string) => submitOrTold(who, from, told, why);
  const itemId = ITEM_OF[row.subject];
  const value = `${id}|${itemId ?? 'card'}`;
  switch (row.action) {
    case 'done':
      await press(user, await itemMessage(id, itemId), ACTION.itemDone, value);
      return;
    case 'skip':
      await press(user, await itemMessage(id, itemId), ACTION.itemSkip, value);
      await submitIfOpened(user, views, reason);
      return;
    case 'n/a':
      await press(user, await itemMessage(id, itemId), ACTION.itemNotApplicable, value);
      return;
    case 'undo':
      await press(
        user,
        await itemMessage(id, itemId),
        row.subject.startsWith('sign-off (count') ? ACTION.itemWithdraw : ACTION.itemReopen,
        value,
      );
      return;
    case 'override':
      await press(
        user,
        await itemMessage(id, itemId),
        ACTION.checkMenu,
        `override|${id}|${itemId}`,
        'overflow',
      );
      await submitIfOpened(user, views, reason);
      return;
    case 'shift':
      if (itemId) await press(user, await itemMessage(id, itemId), ACTION.trafficShift, value);
      else await h.driver.slash(user, 'C0GATES', '/deploy', 'traffic gates 10');
      return;
    case 'acknowledge': {
      const ts = await waitUntil(
        () => h.bot.store.message(id, escalationMessageKey('phase:gates', 1, 1)),
        'the escalation message',
      );
      await press(user, { channel: 'C0GATES', ts }, ACTION.escalationAcknowledge, `${id}|phase:gates`);
      return;
    }
    case 'roll back':
      await press(user, await card(id), ACTION.deploymentRollback, value);
      await submitIfOpened(user, views, reason);
      return;
    case 'pause':
      await press(user, await card(id), ACTION.deploymentPause, value);
      return;
    case 'abort':
      await press(user, await card(id), ACTION.deploymentAbort, value);
      await submitIfOpened(user, views, reason);
      return;
    case 'override hold': {
      const firedAt = (await state(id)).firedGuards?.health ?? 0;
      const ts = await waitUntil(
        () => h.bot.store.message(id, triggerAlertKey('health', firedAt)),
        'the trigger message',
      );
      await press(user, { channel: 'C0GATES', ts }, ACTION.triggerOverride, `${id}|health`);
      await submitIfOpened(user, views, reason);
      return;
    }
  }
}

/** The button (or overflow option) as shown, else the payload a crafted client would send for it. */
async function press(
  user: string,
  where: { channel: string; ts: string },
  actionId: string,
  value: string,
  type: 'button' | 'overflow' = 'button',
): Promise<void> {
  await h.bot.context.presenter.idle();
  const shown = findElement(h.slack.message(where.channel, where.ts)?.blocks, actionId, value, type);
  if (shown && type === 'button') {
    const response = await h.driver.clickButton(user, where, { actionId, value });
    expect(response.status).toBe(200);
  } else if (shown) {
    const response = await h.driver.selectOverflow(user, where, { actionId, value });
    expect(response.status).toBe(200);
  } else {
    await forgeAction(h, user, where, { actionId, value, type });
  }
}

function findElement(node: unknown, actionId: string, value: string, type: string): boolean {
  if (Array.isArray(node)) return node.some((child) => findElement(child, actionId, value, type));
  if (!node || typeof node !== 'object') return false;
  const element = node as JsonObject;
  if (element.action_id === actionId && element.type === type) {
    if (type === 'button') return element.value === value;
    return ((element.options as JsonObject[] | undefined) ?? []).some((option) => option.value === value);
  }
  return Object.values(element).some((child) => findElement(child, actionId, value, type));
}

/** A dialog opened for `user` gets the reason; a refusal (a private answer instead) opens none. */
async function submitOrTold(user: string, views: number, told: number, reason: string): Promise<void> {
  const outcome = await waitUntil(
    () =>
      h.slack.views.slice(views).find((view) => view.user === user && view.state === 'open') ??
      (h.slack.ephemerals.slice(told).some((ephemeral) => ephemeral.user === user) ? 'told' : undefined),
    'a dialog or a private answer',
    5_000,
  );
  if (outcome !== 'told') await h.driver.submitView(user, outcome.id, { reason });
}

// ---------------------------------------------------------------------------------------------------
// Deployments in the state a row needs

/** A new deployment (ending `previous`) with what the row acts on in place. */
async function prepared(row: PermissionRow, previous?: string): Promise<string> {
  if (previous) await finish(previous);
  const { id } = await startDeployment(h, 'gates', `${Date.now()}`, USERS.requester);
  const itemId = ITEM_OF[row.subject];
  const as = (user: string, command: Record<string, unknown>) =>
    h.bot.deployments.execute(id, {
      ...command,
      actor: user,
      actorRoles: ROLES[user] ?? [],
      at: Date.now(),
    } as unknown as Command);
  if (row.action === 'undo' && itemId) {
    // Resolved first, by someone who may: what the row's undo then undoes.
    const resolver = row.subject.startsWith('sign-off (count') ? USERS.approver : USERS.deployer;
    const by = row.subject.startsWith('manual item (owner: a role)') ? USERS.ops : resolver;
    const resolution =
      row.subject.startsWith('manual') || row.subject.startsWith('sign-off (count') ? 'done' : 'skipped';
    if (row.subject === 'check') await settled(id, itemId);
    const result = await as(by, {
      type: 'resolve-item',
      itemId,
      resolution,
      reason: 'set up by the test',
    });
    expect(result.ok, JSON.stringify(result)).toBe(true);
  }
  if (row.subject === 'check') await settled(id, itemId ?? '');
  if (row.action === 'acknowledge')
    await until(id, (d) => (d.escalations?.['phase:gates']?.level ?? 0) >= 1, 'the escalation');
  if (row.action === 'override hold') {
    infra.http.setHealth('gates', 503);
    await until(id, (d) => d.firedGuards?.health !== undefined, 'the trigger to fire');
  }
  await h.bot.context.presenter.idle();
  return id;
}

/** Ends a deployment and puts the cluster back as the next one expects to find it. */
async function finish(id: string): Promise<void> {
  infra.http.setHealth('gates', 200);
  const current = await state(id);
  if (current.status === 'active' || current.status === 'paused')
    await h.bot.deployments.execute(id, {
      type: 'abort',
      actor: 'flightdeck',
      actorRoles: [],
      reason: 'next cell',
      at: Date.now(),
    });
  await waitUntil(async () => (await state(id)).operation === undefined, 'no operation in flight');
  const ingress = 'Ingress/gates/gates-canary';
  type Annotated = KubeObject & { metadata: { annotations?: Record<string, string> } };
  if (
    infra.fakeKube.get<Annotated>(ingress)?.metadata.annotations?.[
      'nginx.ingress.kubernetes.io/canary-weight'
    ] !== '0'
  )
    infra.fakeKube.update<Annotated>(ingress, (object) => {
      object.metadata.annotations = {
        ...object.metadata.annotations,
        'nginx.ingress.kubernetes.io/canary-weight': '0',
      };
    });
  await h.bot.context.presenter.idle();
}

async function settled(id: string, itemId: string): Promise<void> {
  await until(
    id,
    (d) => ['failed', 'error', 'done', 'skipped'].includes(d.items[itemId]?.status ?? ''),
    `${itemId} to settle`,
  );
}

// ---------------------------------------------------------------------------------------------------

async function state(id: string): Promise<Deployment> {
  return (await h.bot.store.load(id))!.state;
}

function until(id: string, predicate: (d: Deployment) => boolean, what: string) {
  return waitUntil(async () => predicate(await state(id)) || undefined, what, 10_000);
}

async function refusals(id: string, user: string) {
  return (await h.bot.store.audit(id))
    .map((entry) => entry.event)
    .filter(
      (event): event is Extract<DeploymentEvent, { type: 'access.refused' }> =>
        event.type === 'access.refused' && event.actor === user,
    );
}

async function itemMessage(id: string, itemId: string | undefined) {
  return messageOf(h, id, checklist, checklist.phases[0]!.items.find((item: Item) => item.id === itemId)!);
}

async function card(id: string) {
  const ts = await waitUntil(() => h.bot.store.message(id, CARD_KEY), 'the card');
  return { channel: 'C0GATES', ts };
}

/** A port that refuses connections: bound by this test, then closed. */
function reserveClosedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
