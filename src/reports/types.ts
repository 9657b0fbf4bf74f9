import type { CheckOutcome } from '../checks/types.js';
import type { Actor, DeploymentStatus, ItemStatus } from '../deployments/model.js';
import type { TrafficShortfall } from '../deployments/traffic-plan.js';

/** The deployment report as data (built by report.ts, one section per file in ./sections/). */
export interface DeploymentReport {
  id: string;
  service: string;
  environment: string;
  version: string;
  checklist: { id: string; title: string };
  status: DeploymentStatus;
  requestedBy: Actor;
  startedAt: number;
  /** When it ended; undefined while it runs. */
  endedAt?: number;
  endedBy?: Actor;
  /** Why it was aborted or rolled back. */
  endReason?: string;
  /** When the report was built: follow-ups keep running after the end. */
  asOf: number;
  metrics: ReportMetrics;
  phases: PhaseReport[];
  followUps: FollowUpReport[];
  traffic: TrafficReport;
  rollback?: RollbackReport;
  checks: ChecksReport;
  items: ItemsReport;
  signoffs: SignoffReport[];
  escalations: EscalationReport[];
  triggers: TriggerReport[];
  /** The last traffic step was skipped, or traffic ended short of it: the headline must say so. */
  trafficShortfall?: TrafficShortfall;
  /** What the `image` checks verified on the cluster (present when the checklist has any). */
  versionCheck?: VersionReport;
  /** Attempts the rules refused (who, what, why), from the audit stream. */
  refusals: RefusalRecord[];
  retrospective?: RetrospectiveReport;
  /** Questions the retrospective asks (for "not answered yet" lines). */
  questions: Array<{ id: string; title: string }>;
}

/** The seeds' "Deployment Metrics", as far as Flightdeck could observe them. */
export interface ReportMetrics {
  /** Start to end (or to `asOf` while it runs). */
  durationMs: number;
  /** Time spent paused within that. */
  pausedMs: number;
  /**
   * Downtime as Flightdeck sees it: time new code took traffic while a rollback trigger's condition held
   * (from when it began to hold until it cleared or the rollback was verified). 0: none observed. Real
   * downtime may differ; the retrospective can say (`reportedDowntime`).
   */
  degradedMs: number;
  /** How long new code took traffic before the rollback was asked for (rolled-back runs). */
  exposureMs?: number;
  /** Request to verified rollback. */
  rollbackMs?: number;
  issuesFound: { total: number; failedChecks: number; firedTriggers: number; escalations: number };
  /** From the retrospective, when recorded. */
  postDeploymentIssues?: { critical: number; major: number; minor: number };
  userImpact?: string;
  reportedDowntime?: string;
  performanceImpact?: string;
}

export type PhaseOutcome = 'not reached' | 'open' | 'completed';

export interface PhaseReport {
  id: string;
  title: string;
  outcome: PhaseOutcome;
  openedAt?: number;
  completedAt?: number;
  /** Open to completed, or open to the end (or `asOf`) when it never completed. */
  durationMs?: number;
  items: { total: number; resolved: number };
}

export type FollowUpOutcome = 'not scheduled' | 'scheduled' | 'cancelled' | 'open' | 'completed';

export interface FollowUpReport extends Omit<PhaseReport, 'outcome'> {
  outcome: FollowUpOutcome;
  /** The phase's `after:` (unscaled). */
  afterMs: number;
  dueAt?: number;
  checks: { passed: number; failed: number; total: number };
  /** Failed or errored check runs in this phase (also listed under checks). */
  failures: FailedRun[];
}

export interface TrafficStep {
  at: number;
  by: Actor;
  itemId?: string;
  itemTitle?: string;
  target: string;
  from: string;
  to: string;
  durationMs: number;
}

export interface TrafficFailure {
  at: number;
  by: Actor;
  target: string;
  code: string;
  message: string;
}

export interface TrafficReport {
  strategy?: string;
  initial?: string;
  final?: string;
  steps: TrafficStep[];
  failures: TrafficFailure[];
  /** When new code first took traffic (rollback triggers armed). */
  newCodeSince?: number;
}

export interface RollbackReport {
  requestedAt: number;
  requestedBy: Actor;
  reason: string;
  trigger?: { id: string; title: string; measured: string };
  completedAt?: number;
  durationMs?: number;
  from?: string;
  to?: string;
  /** The last attempt failed (and nothing verified since). */
  error?: string;
}

export interface FailedRun {
  itemId: string;
  title: string;
  run: number;
  at: number;
  outcome: Exclude<CheckOutcome, 'passed'>;
  summary: string;
  value?: number;
  unit?: string;
  detail?: string;
}

export type CheckFinal =
  | 'passed'
  | 'overridden'
  | 'failed'
  | 'error'
  | 'running'
  | 'not run'
  | 'skipped'
  | 'n/a';

export interface CheckReport {
  itemId: string;
  title: string;
  phaseId: string;
  /** Finished runs. */
  runs: number;
  final: CheckFinal;
  /** The latest result shown (what passed, or what an override accepted). */
  summary?: string;
  failures: FailedRun[];
}

export interface ChecksReport {
  total: number;
  /** Checks with at least one finished run. */
  run: number;
  runs: number;
  passed: number;
  /** Checks with at least one failed or errored run (some may have passed on a re-run). */
  failedAtLeastOnce: number;
  overridden: number;
  /** Failed or errored at the end, not overridden. */
  stillFailing: number;
  notRun: number;
  items: CheckReport[];
  failedRuns: FailedRun[];
}

export interface ItemRecord {
  itemId: string;
  title: string;
  phaseTitle: string;
  by?: Actor;
  at?: number;
  reason?: string;
}

export interface ItemsReport {
  total: number;
  done: number;
  skipped: ItemRecord[];
  notApplicable: ItemRecord[];
  overridden: Array<ItemRecord & { showed?: string }>;
  /** Required items left unresolved (an aborted or rolled-back run, or open follow-ups). */
  notDone: Array<ItemRecord & { status: ItemStatus }>;
  /** Optional items nobody resolved. */
  optionalOpen: ItemRecord[];
}

export interface SignoffReport {
  itemId: string;
  title: string;
  role: string;
  needed: number;
  status: ItemStatus;
  signatures: Array<{ by: Actor; at: number }>;
  withdrawn: Array<{ by: Actor; at: number }>;
  /** For a sign-off skipped or marked n/a. */
  reason?: string;
  by?: Actor;
  /** Cleared by its `waivable_by` role instead of signatures: a waiver, not a signature. */
  waived?: boolean;
}

export interface EscalationReport {
  key: string;
  chain: number;
  /** What waited: a phase, a check or a rollback trigger. */
  about: string;
  startedAt: number;
  levels: Array<{ level: number; at: number; notify: string; page: boolean }>;
  acknowledged?: { by: Actor; at: number };
  resolvedAt?: number;
}

export interface VersionReport {
  /** Image checks that passed, with what they saw running (e.g. "shop:8.0.0 runs (deployment …)"). */
  verified: Array<{ title: string; summary: string }>;
  /** Image checks that did not pass, and how they ended. */
  unverified: Array<{ title: string; final: CheckFinal; summary?: string }>;
}

export interface RefusalRecord {
  at: number;
  actor: Actor;
  action: string;
  target?: string;
  reason: string;
}

export interface TriggerReport {
  triggerId: string;
  title: string;
  firedAt: number;
  measured: string;
  automatic: boolean;
  /** Someone who may roll back let the held shifts go ahead. */
  overridden?: { by: Actor; at: number; reason: string };
  clearedAt?: number;
  /** When its condition began to hold (its `for` window before it fired, not before new code took traffic). */
  heldSince: number;
  /** Until it cleared, the rollback was verified, or the end. */
  heldUntil: number;
}

export interface RetrospectiveReport {
  by: Actor;
  at: number;
  issues: { critical: number; major: number; minor: number };
  userImpact?: string;
  answers: Array<{ id: string; title: string; answer: string }>;
}
