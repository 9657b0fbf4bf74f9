import type { CheckOutcome, CheckRun } from '../../checks/types.js';
import type {
  Actor,
  Deployment,
  ItemStatus,
  Resolution,
  Retrospective,
  TrafficState,
  TrafficTarget,
} from '../model.js';

/** The engine's vocabulary: what can be asked of a deployment, and what it says happened. */

export type Command =
  | {
      type: 'resolve-item';
      itemId: string;
      resolution: Resolution;
      actor: Actor;
      actorRoles: readonly string[];
      reason?: string;
      at: number;
    }
  | { type: 'reopen-item'; itemId: string; actor: Actor; actorRoles: readonly string[]; at: number }
  /** A worker's verdict for run `run` of a check item; stale runs are ignored. */
  | { type: 'check-result'; itemId: string; run: number; result: CheckRun }
  | { type: 'rerun-check'; itemId: string; actor: Actor; actorRoles: readonly string[]; at: number }
  /** Accept a check that failed, errored or hangs, with a reason: owner role, deployers or the requester. */
  | {
      type: 'override-check';
      itemId: string;
      actor: Actor;
      actorRoles: readonly string[];
      reason: string;
      at: number;
    }
  | { type: 'complete'; actor: Actor; at: number }
  | { type: 'abort'; actor: Actor; actorRoles: readonly string[]; reason: string; at: number }
  | { type: 'pause'; actor: Actor; actorRoles: readonly string[]; at: number }
  | { type: 'resume'; actor: Actor; actorRoles: readonly string[]; at: number }
  /**
   * Shift traffic: from a checklist traffic item (`itemId`), or by command (`target`). A command shift
   * that would jump over a watch window of the open phase needs `confirmed` (the person saw what it skips).
   */
  | {
      type: 'request-traffic';
      itemId?: string;
      target?: TrafficTarget;
      confirmed?: boolean;
      actor: Actor;
      actorRoles: readonly string[];
      at: number;
    }
  /** A worker's report on traffic operation `run`: what changed, or why nothing did and what the cluster shows. */
  | { type: 'traffic-result'; run: number; at: number; outcome: OperationOutcome }
  | {
      type: 'request-rollback';
      actor: Actor;
      actorRoles: readonly string[];
      reason: string;
      trigger?: { id: string; title: string; measured: string };
      at: number;
    }
  | { type: 'rollback-result'; run: number; at: number; outcome: OperationOutcome }
  /**
   * An escalation level's timer fired. `startedAt` is the chain's start the timer was set from: a pause
   * moves it on, so a timer set before the pause no longer matches.
   */
  | { type: 'escalate'; key: string; chain: number; level: number; startedAt?: number; at: number }
  | {
      type: 'acknowledge-escalation';
      key: string;
      actor: Actor;
      actorRoles: readonly string[];
      at: number;
    }
  /** Answers from the Retrospective modal; allowed once the deployment has ended (again to amend). */
  | {
      type: 'record-retrospective';
      actor: Actor;
      actorRoles: readonly string[];
      retrospective: Omit<Retrospective, 'by' | 'at'>;
      at: number;
    }
  /** A signer takes their sign-off back while the phase is open. */
  | { type: 'withdraw-signoff'; itemId: string; actor: Actor; at: number }
  /** A follow-up phase is due. */
  | { type: 'open-follow-up'; phaseId: string; at: number }
  /** A wait item's timer fired (run `run`). */
  | { type: 'wait-elapsed'; itemId: string; run: number; at: number }
  /** A rollback trigger held for its window on a checklist without automatic rollback. The `guard-*` command
   * types are the stored names of rollback trigger commands (queued jobs carry them), kept for compatibility. */
  | { type: 'guard-fired'; triggerId: string; measured: string; at: number }
  | { type: 'guard-cleared'; triggerId: string; at: number }
  /** Let the next traffic shift go ahead although this trigger fired (it holds shifts until then).
   * `override-guard`: the stored name of this rollback trigger command, kept for compatibility. */
  | {
      type: 'override-guard';
      triggerId: string;
      actor: Actor;
      actorRoles: readonly string[];
      reason: string;
      at: number;
    }
  /** A later deployment of the same service and environment started. */
  | { type: 'supersede'; by: string; version: string; at: number }
  /** A completed deployment's watch after completion is over: its rollback triggers stop. */
  | { type: 'end-watch'; at: number };

/** What a traffic or rollback operation did on the cluster. */
export type OperationOutcome =
  | { ok: true; before: TrafficState; after: TrafficState; attempts: number; durationMs: number }
  | { ok: false; code: string; message: string; state?: TrafficState }
  | UnknownOutcome;

/**
 * The write may have been applied and the cluster could not be read since: nobody knows what serves users.
 * Not a failure: the worker reads again at `rereadAt`, and reports what the read shows.
 */
export interface UnknownOutcome {
  ok: false;
  code: 'unknown';
  message: string;
  rereadAt: number;
}

export function isUnknownOutcome(outcome: OperationOutcome): outcome is UnknownOutcome {
  return !outcome.ok && outcome.code === 'unknown';
}

export type DeploymentEvent =
  | {
      type: 'deployment.started';
      at: number;
      actor: Actor;
      service: string;
      environment: string;
      version: string;
      checklistId: string;
    }
  | { type: 'phase.opened'; at: number; actor: Actor; phaseId: string }
  | { type: 'phase.completed'; at: number; actor: Actor; phaseId: string }
  | { type: 'phase.scheduled'; at: number; actor: Actor; phaseId: string; dueAt: number }
  | {
      type: 'escalation.started';
      at: number;
      actor: Actor;
      key: string;
      chain: number;
      startedAt: number;
      firstAt: number;
    }
  | {
      type: 'escalation.level';
      at: number;
      actor: Actor;
      key: string;
      chain: number;
      level: number;
      of: number;
      notify: string;
      page: boolean;
      /** When the next level is due, if there is one. */
      nextAt?: number;
    }
  | { type: 'escalation.acknowledged'; at: number; actor: Actor; key: string; chain: number; paged: boolean }
  | { type: 'escalation.resolved'; at: number; actor: Actor; key: string; chain: number; paged: boolean }
  | { type: 'retrospective.recorded'; at: number; actor: Actor }
  | {
      type: 'signoff.signed';
      at: number;
      actor: Actor;
      phaseId: string;
      itemId: string;
      signed: number;
      needed: number;
    }
  | {
      type: 'signoff.withdrawn';
      at: number;
      actor: Actor;
      phaseId: string;
      itemId: string;
      signed: number;
      needed: number;
    }
  | {
      type: 'item.resolved';
      at: number;
      actor: Actor;
      phaseId: string;
      itemId: string;
      from: ItemStatus;
      to: Resolution;
      reason?: string;
    }
  | { type: 'item.reopened'; at: number; actor: Actor; phaseId: string; itemId: string; from: ItemStatus }
  | { type: 'check.requested'; at: number; actor: Actor; phaseId: string; itemId: string; run: number }
  | {
      type: 'check.completed';
      at: number;
      actor: Actor;
      phaseId: string;
      itemId: string;
      run: number;
      outcome: CheckOutcome;
      /** The whole run (value, detail, attempts…): the failure reply and the report read it from here. */
      result: CheckRun;
    }
  | {
      type: 'check.overridden';
      at: number;
      actor: Actor;
      phaseId: string;
      itemId: string;
      /** What the check showed when it was overridden. */
      from: ItemStatus;
      summary?: string;
      reason: string;
    }
  | { type: 'deployment.completed'; at: number; actor: Actor }
  | { type: 'deployment.paused'; at: number; actor: Actor }
  | { type: 'deployment.resumed'; at: number; actor: Actor }
  | {
      type: 'traffic.requested';
      at: number;
      actor: Actor;
      run: number;
      target: TrafficTarget;
      itemId?: string;
    }
  | {
      type: 'traffic.shifted';
      at: number;
      actor: Actor;
      run: number;
      target: TrafficTarget;
      itemId?: string;
      before: TrafficState;
      after: TrafficState;
      durationMs: number;
      /** The outcome was unknown from then until this read-back. */
      unknownSince?: number;
    }
  | {
      type: 'traffic.failed';
      at: number;
      actor: Actor;
      run: number;
      target: TrafficTarget;
      itemId?: string;
      code: string;
      message: string;
      state?: TrafficState;
      /** The outcome was unknown from then until this read-back. */
      unknownSince?: number;
    }
  /** The shift's write may have been applied and no read has shown the cluster since; read again at `nextAt`. */
  | {
      type: 'traffic.unknown';
      at: number;
      actor: Actor;
      run: number;
      target: TrafficTarget;
      itemId?: string;
      message: string;
      /** Reads that failed so far. */
      reads: number;
      nextAt: number;
    }
  | {
      type: 'rollback.requested';
      at: number;
      actor: Actor;
      run: number;
      reason: string;
      trigger?: { id: string; title: string; measured: string };
      /** Where it returns to: what was live when the deployment started (none without a strategy). */
      to?: TrafficState;
    }
  | {
      type: 'rollback.completed';
      at: number;
      actor: Actor;
      run: number;
      before: TrafficState;
      after: TrafficState;
      /** From the request to the verified rollback. */
      durationMs: number;
    }
  | {
      type: 'rollback.failed';
      at: number;
      actor: Actor;
      run: number;
      code: string;
      message: string;
      state?: TrafficState;
    }
  /** The rollback's write may have been applied and no read has shown the cluster since. */
  | {
      type: 'rollback.unknown';
      at: number;
      actor: Actor;
      run: number;
      message: string;
      reads: number;
      nextAt: number;
    }
  /** `guards.*` / `guard.*`: the stored names of rollback trigger events (audit streams hold them), kept for compatibility. */
  | { type: 'guards.armed'; at: number; actor: Actor }
  | { type: 'guard.fired'; at: number; actor: Actor; triggerId: string; measured: string }
  | { type: 'guard.cleared'; at: number; actor: Actor; triggerId: string }
  | { type: 'guard.overridden'; at: number; actor: Actor; triggerId: string; reason: string }
  | { type: 'deployment.superseded'; at: number; actor: Actor; by: string; version: string }
  | { type: 'guards.stopped'; at: number; actor: Actor }
  /** A pause held the chain; it climbs again from where it was, its start moved on by the pause. */
  | {
      type: 'escalation.resumed';
      at: number;
      actor: Actor;
      key: string;
      chain: number;
      startedAt: number;
      level: number;
    }
  /**
   * Someone asked for something the rules do not let them do: who, what, and why not. Written to the audit
   * stream; the state does not change.
   */
  | {
      type: 'access.refused';
      at: number;
      actor: Actor;
      /** The command, e.g. `resolve-item skipped`, `request-rollback`. */
      action: string;
      /** The item, escalation or trigger it was about. */
      target?: string;
      code: RejectionCode;
      reason: string;
    }
  | {
      type: 'wait.started';
      at: number;
      actor: Actor;
      phaseId: string;
      itemId: string;
      run: number;
      until: number;
    }
  | { type: 'deployment.aborted'; at: number; actor: Actor; reason: string };

export type RejectionCode =
  | 'not_active'
  | 'unknown_item'
  | 'phase_not_open'
  | 'phase_closed'
  | 'forbidden'
  | 'reason_required'
  | 'unchanged'
  | 'out_of_order'
  | 'not_manual'
  | 'not_a_check'
  | 'not_finished'
  | 'busy'
  | 'four_eyes'
  | 'not_waivable'
  | 'not_applicable'
  /** A fired rollback trigger holds traffic shifts until someone rolls back or overrides it. */
  | 'held'
  /** A shift by command would jump over a watch window: it is asked again, with what it skips. */
  | 'unconfirmed'
  /** A later deployment of the service started: this one is no longer what runs. */
  | 'superseded';

export type Decision =
  | { ok: true; state: Deployment; events: DeploymentEvent[] }
  | { ok: false; code: RejectionCode; message: string };

export interface StartParams {
  id: string;
  service: string;
  environment: string;
  version: string;
  channel: string;
  requestedBy: Actor;
  deployers: readonly string[];
  trafficStrategy?: string;
  escalationLevels?: ReadonlyArray<{ after: number; notify: string; page: boolean }>;
  timeScale?: number;
  /** What was live on the cluster as the deployment started (read by the caller); rollback returns here. */
  liveAtStart?: TrafficState;
  at: number;
}
