import type { CheckRun } from '../checks/types.js';

/**
 * The deployment as data: what Redis stores, what the engine transforms and what the renderer shows.
 * The checklist itself is not in here; it is stored once per deployment (filled with its template values)
 * and passed to the engine beside the state.
 */

export type DeploymentStatus = 'active' | 'paused' | 'completed' | 'rolled_back' | 'aborted';
export const TERMINAL_STATUSES: ReadonlySet<DeploymentStatus> = new Set([
  'completed',
  'rolled_back',
  'aborted',
]);

/**
 * `error` means the item could not be evaluated (a check timed out, no data), which is not `failed`
 * (evaluated, condition false). Neither resolves an item.
 */
export type ItemStatus = 'pending' | 'running' | 'passed' | 'failed' | 'error' | 'done' | 'skipped' | 'n/a';
export const RESOLVED_ITEM_STATUSES: ReadonlySet<ItemStatus> = new Set(['passed', 'done', 'skipped', 'n/a']);

/** What a person can set an item to by hand. */
export type Resolution = 'done' | 'skipped' | 'n/a';

/** `scheduled`: a follow-up phase with a due time, not open yet. */
export type PhaseStatus = 'pending' | 'scheduled' | 'active' | 'completed';

/** Who did something: a Slack user ID, or `flightdeck` for the bot's own decisions. */
export type Actor = string;
export const BOT_ACTOR = 'flightdeck';

export interface ItemState {
  status: ItemStatus;
  by?: Actor;
  at?: number;
  /** Why an item was skipped, marked n/a or overridden; required for a skip and an override. */
  reason?: string;
  /** Checks: which request is current (bumped by every run and re-run); older results are ignored. */
  run?: number;
  /** Checks: the latest finished run — kept after an override, so the report shows what was overridden. */
  result?: CheckRun;
  /** Checks: resolved by a person despite a failed or errored run. */
  overridden?: boolean;
  /** Sign-offs: who signed and when (the item is done once enough distinct people have). */
  signatures?: Array<{ by: Actor; at: number }>;
  /** Sign-offs: skipped or n/a by the checklist's `waivable_by` role — a waiver, never a signature. */
  waived?: boolean;
}

export interface PhaseState {
  status: PhaseStatus;
  openedAt?: number;
  completedAt?: number;
  /** Follow-up phases: when it opens. */
  dueAt?: number;
}

export interface Deployment {
  id: string;
  service: string;
  environment: string;
  version: string;
  checklistId: string;
  channel: string;
  requestedBy: Actor;
  /**
   * Roles that may steer this deployment (traffic, rollback, pause, abort) besides the requester; `anyone`
   * only when flightdeck.yaml says so. Fixed when it starts.
   */
  deployers: string[];
  status: DeploymentStatus;
  createdAt: number;
  endedAt?: number;
  endedBy?: Actor;
  endReason?: string;
  /** Index of the open phase in the checklist's `phases`; equals their count once all are done. */
  currentPhase: number;
  phases: Record<string, PhaseState>;
  items: Record<string, ItemState>;
  /** Counter for traffic and rollback operations, so a late answer for an older one is ignored. */
  operations?: number;
  /** The traffic or rollback operation in flight (one at a time). */
  operation?: Operation;
  traffic?: TrafficRecord;
  /**
   * What was live when the deployment started, read from the cluster (blue-green: the live slot; canary:
   * the weight; rolling: the revision and its pod template). A rollback returns here and nowhere else.
   * Absent for services without a traffic strategy (their rollback is the team's, by hand).
   */
  liveAtStart?: TrafficState;
  /** A later deployment of the same service and environment started: this one can no longer be rolled back. */
  supersededBy?: { id: string; version: string; at: number };
  /** After completion the rollback triggers keep watching until then (`rollback.watch_after_completion`). */
  watchUntil?: number;
  /** A fired trigger (without automatic rollback) holds the next traffic shift until overridden here.
   * `guardOverrides`: stored name (JSON key of the state) of rollback trigger overrides, kept for compatibility. */
  guardOverrides?: Record<string, { firedAt: number; by: Actor; at: number; reason: string }>;
  rollback?: RollbackRecord;
  /** Rollback triggers are evaluated from this moment: new code takes traffic.
   * `guardsArmedAt`: stored name (JSON key of the state) of when rollback triggers armed, kept for compatibility. */
  guardsArmedAt?: number;
  /** Triggers that fired without an automatic rollback (and when), so each alerts once until it clears.
   * `firedGuards`: stored name (JSON key of the state) of fired rollback triggers, kept for compatibility. */
  firedGuards?: Record<string, number>;
  /** When the deployment was paused, for the report. */
  pausedAt?: number;
  /** The service's traffic strategy when it started; without one, traffic steps are done by hand. */
  trafficStrategy?: string;
  /** Multiplies watch windows and follow-up delays (1 in production; small in demos and tests). */
  timeScale?: number;
  /** When follow-up phases were scheduled from (full traffic, or completion). */
  followUpsFrom?: number;
  /** The escalation chain in force (from the checklist or flightdeck.yaml), fixed when it starts. */
  escalationLevels?: Array<{ after: number; notify: string; page: boolean }>;
  /** Escalations by cause (`phase:<id>`, `check:<id>`, `guard:<id>`: the stored prefix of a rollback trigger, kept). */
  escalations?: Record<string, EscalationState>;
  /** What people told the retrospective: what Flightdeck cannot observe itself. */
  retrospective?: Retrospective;
}

/** Where traffic goes: a canary's share, or a blue/green slot. */
export type TrafficTarget = { weight: number } | { slot: 'blue' | 'green' };

/** What the cluster showed when Flightdeck read it back. */
export interface TrafficState {
  weight?: number;
  slot?: 'blue' | 'green';
  revision?: number;
  image?: string;
  /** Rolling: the Deployment's pod template, so a rollback restores it even when its ReplicaSet is gone. */
  template?: Record<string, unknown>;
  /** One line for Slack, e.g. "canary 5% (stable 95%) via HTTPRoute checkout". */
  description: string;
}

export interface Operation {
  kind: 'traffic' | 'rollback';
  run: number;
  requestedBy: Actor;
  requestedAt: number;
  target?: TrafficTarget;
  /** A rollback: the state to return to (what was live when the deployment started). */
  to?: TrafficState;
  /** The checklist item this shift performs, if it came from one. */
  itemId?: string;
  /**
   * Its write may have been applied and no read has shown the cluster since. The operation stays in
   * flight meanwhile (no other shift, the flow holds) while a worker reads again, until a read tells.
   */
  uncertain?: OutcomeUnknown;
}

export interface OutcomeUnknown {
  since: number;
  /** Why it became unknown: the failed write, and the failed read after it. */
  message: string;
  /** Reads that failed so far, the one right after the write included. */
  reads: number;
  lastTry: number;
  nextAt: number;
  /** What the latest re-read ran into. */
  lastError?: string;
}

export interface TrafficShift {
  at: number;
  by: Actor;
  itemId?: string;
  target: TrafficTarget;
  before: TrafficState;
  after: TrafficState;
  durationMs: number;
}

export interface TrafficRecord {
  /** Before Flightdeck's first change: where a rollback returns to. */
  initial?: TrafficState;
  current?: TrafficState;
  shifts: TrafficShift[];
}

export interface RollbackRecord {
  requestedAt: number;
  requestedBy: Actor;
  reason: string;
  /** Set when a rollback trigger fired it: which one and what it measured. */
  trigger?: { id: string; title: string; measured: string };
  completedAt?: number;
  durationMs?: number;
  before?: TrafficState;
  after?: TrafficState;
  /** False when the cluster already showed what was live at the start: the rollback wrote nothing. */
  moved?: boolean;
  /** Asked again after a failed attempt (which may have changed the cluster). */
  retried?: boolean;
  /** The last attempt failed: what went wrong and what the cluster showed. */
  error?: string;
  errorState?: TrafficState;
}

/** A rollback was asked for and has not finished (or failed): the checklist waits. */
export function isRollingBack(deployment: Deployment): boolean {
  return (
    deployment.rollback !== undefined &&
    deployment.rollback.completedAt === undefined &&
    !deployment.rollback.error
  );
}

export function isTerminal(deployment: Deployment): boolean {
  return TERMINAL_STATUSES.has(deployment.status);
}

export function isResolved(item: ItemState | undefined): boolean {
  return item !== undefined && RESOLVED_ITEM_STATUSES.has(item.status);
}

/**
 * A copy to change: the maps and nested records a transition may touch are copied, the item and phase
 * records themselves are not (transitions replace them, never edit them in place). Much cheaper than a
 * deep clone on every click, and the input stays untouched (tested).
 */
export function copyForChange(deployment: Deployment): Deployment {
  return {
    ...deployment,
    phases: { ...deployment.phases },
    items: { ...deployment.items },
    ...(deployment.traffic
      ? { traffic: { ...deployment.traffic, shifts: [...deployment.traffic.shifts] } }
      : {}),
    ...(deployment.rollback ? { rollback: { ...deployment.rollback } } : {}),
    ...(deployment.firedGuards ? { firedGuards: { ...deployment.firedGuards } } : {}),
    ...(deployment.guardOverrides ? { guardOverrides: { ...deployment.guardOverrides } } : {}),
    ...(deployment.escalations ? { escalations: { ...deployment.escalations } } : {}),
  };
}

export interface EscalationState {
  /** Which chain for this cause (a cause that returns starts a new one). */
  chain: number;
  startedAt: number;
  /** Levels fired so far (0: none yet). */
  level: number;
  paged?: boolean;
  acknowledgedBy?: Actor;
  acknowledgedAt?: number;
  resolvedAt?: number;
}

export interface Retrospective {
  by: Actor;
  at: number;
  /** Problems found after the deployment, by severity. */
  issues: { critical: number; major: number; minor: number };
  /** How many users were affected, in the team's words (a number, or "none"). */
  userImpact?: string;
  /** Answers to the checklist's questions, by question id. */
  answers: Record<string, string>;
}
