/**
 * "Who may do what", as a table: what README.md shows, and what test/e2e/permissions.test.ts checks
 * against the running bot, cell by cell, through signed Slack requests. The rules themselves live in
 * engine/permissions.ts; this is their specification in the shape a reader wants. A test fails when the
 * README's copy and this table drift apart (`npm run docs:permissions` rewrites it).
 *
 * The kinds of user, for an item whose `owner` is a role (a sign-off: its signing role), on a service
 * whose `deployers` is a role, with `four_eyes: true`:
 *   requester   started the deployment (a deployer, and here also a member of the sign-off's role)
 *   owner       a member of the item's owner role, not a deployer
 *   other role  holds some role, but neither the owner role nor a deployer one
 *   deployer    a member of the service's deployer role, not the requester
 *   nobody      holds no role at all
 */

export const USER_KINDS = ['requester', 'owner', 'other role', 'deployer', 'nobody'] as const;
export type UserKind = (typeof USER_KINDS)[number];

/** yes: allowed; no: refused privately and audited; —: not offered, and refused on any path. */
export type Verdict = 'yes' | 'no' | '—';

export const ACTIONS = [
  'done',
  'skip',
  'n/a',
  'undo',
  'override',
  'shift',
  'acknowledge',
  'roll back',
  'pause',
  'abort',
  'override hold',
] as const;
export type PermissionAction = (typeof ACTIONS)[number];

export interface PermissionRow {
  /** What is acted on: an item kind (and how its owner is set), or the deployment. */
  subject: string;
  action: PermissionAction;
  who: Record<UserKind, Verdict>;
}

const all = (verdict: Verdict): Record<UserKind, Verdict> => ({
  requester: verdict,
  owner: verdict,
  'other role': verdict,
  deployer: verdict,
  nobody: verdict,
});
/** The owner role only (deployers do not do other roles' work). */
const OWNERS: Record<UserKind, Verdict> = { ...all('no'), owner: 'yes' };
/** The deployers: the requester and the deployer role. */
const DEPLOYERS: Record<UserKind, Verdict> = { ...all('no'), requester: 'yes', deployer: 'yes' };
/** The owner role and the deployers. */
const OWNERS_AND_DEPLOYERS: Record<UserKind, Verdict> = { ...DEPLOYERS, owner: 'yes' };

function rows(subject: string, verdicts: Partial<Record<PermissionAction, Record<UserKind, Verdict>>>) {
  return ACTIONS.filter((action) => verdicts[action]).map((action) => ({
    subject,
    action,
    who: verdicts[action] as Record<UserKind, Verdict>,
  }));
}

export const PERMISSION_TABLE: readonly PermissionRow[] = [
  ...rows('manual item (owner: a role)', {
    done: OWNERS,
    skip: OWNERS,
    'n/a': OWNERS,
    undo: OWNERS,
  }),
  ...rows('manual item (no owner)', {
    done: DEPLOYERS,
    skip: DEPLOYERS,
    'n/a': DEPLOYERS,
    undo: DEPLOYERS,
  }),
  ...rows('manual item (owner: anyone)', {
    done: all('yes'),
    skip: all('yes'),
    'n/a': all('yes'),
    undo: all('yes'),
  }),
  ...rows('check', {
    done: all('—'),
    skip: OWNERS_AND_DEPLOYERS,
    'n/a': all('—'),
    undo: OWNERS_AND_DEPLOYERS,
    override: OWNERS_AND_DEPLOYERS,
  }),
  ...rows('sign-off (count 2, four eyes)', {
    // "done" is signing; "undo" is withdrawing one's own signature.
    done: { ...OWNERS, requester: 'no' },
    skip: all('—'),
    'n/a': all('—'),
    undo: OWNERS,
  }),
  ...rows('sign-off (waivable_by: deployer)', {
    // A waiver: a reason, not the requester (four eyes), not one of its signers; never a signature.
    skip: { ...all('no'), deployer: 'yes' },
    'n/a': all('—'),
    undo: { ...all('no'), deployer: 'yes' },
  }),
  ...rows('traffic step', {
    done: all('—'),
    shift: OWNERS_AND_DEPLOYERS,
    skip: OWNERS_AND_DEPLOYERS,
    'n/a': all('—'),
    undo: OWNERS_AND_DEPLOYERS,
  }),
  ...rows('watch window', {
    done: all('—'),
    skip: OWNERS_AND_DEPLOYERS,
    'n/a': all('—'),
    undo: OWNERS_AND_DEPLOYERS,
  }),
  ...rows('deployment', {
    // The owners of what waits, and the role a level called (on-call), may take an escalation too.
    acknowledge: OWNERS_AND_DEPLOYERS,
    shift: DEPLOYERS,
    'roll back': DEPLOYERS,
    pause: DEPLOYERS,
    abort: DEPLOYERS,
    'override hold': DEPLOYERS,
  }),
];

export const TABLE_START = '<!-- permissions:start (generated from src/deployments/permission-table.ts) -->';
export const TABLE_END = '<!-- permissions:end -->';

/** The table as Markdown, between its markers, as README.md carries it. */
export function renderPermissionTable(): string {
  const mark = { yes: '✅', no: '❌', '—': '—' } as const;
  const lines = [
    `| subject | action | ${USER_KINDS.join(' | ')} |`,
    `| --- | --- | ${USER_KINDS.map(() => ':-:').join(' | ')} |`,
    ...PERMISSION_TABLE.map(
      (row) =>
        `| ${row.subject} | ${row.action} | ${USER_KINDS.map((kind) => mark[row.who[kind]]).join(' | ')} |`,
    ),
  ];
  return [TABLE_START, ...lines, TABLE_END].join('\n');
}
