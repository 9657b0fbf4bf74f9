import { isRollbackPhase, walkedPhases } from '../checklists/phases.js';
import type { Checklist, Item, Phase } from '../checklists/schema.js';
import type { CheckOutcome, CheckRun } from '../checks/types.js';
import type { DeploymentEvent } from '../deployments/engine.js';
import type {
  Actor,
  Deployment,
  DeploymentStatus,
  ItemStatus,
  TrafficState,
  TrafficTarget,
} from '../deployments/model.js';
import { countedPhases } from '../deployments/progress.js';
import { type TrafficShortfall, trafficShortfall } from '../deployments/traffic-plan.js';

/**
 * The deployment report as data: what Flightdeck observed from the state and its audit stream, plus what
 * the team told the retrospective. Pure: the Markdown (`markdown.ts`) and the Slack message render it, so
 * the figures are computed once, here.
 *
 * The audit stream is what makes it complete (every check run, withdrawn signatures, every escalation
 * chain, guards that fired and cleared, pauses); without it the report falls back to the state, which
 * keeps only the latest of each.
 */

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
  guards: GuardReport[];
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
  issuesFound: { total: number; failedChecks: number; firedGuards: number; escalations: number };
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

export interface GuardReport {
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

/**
 * Retrospective questions a checklist may ask that the modal covers with its own fields (the severity
 * counts and user impact), and ones the Deployment Metrics show beside what Flightdeck observed.
 * Matched on the question id's start, as importers derive ids from the seeds' wording.
 */
export function questionRole(
  questionId: string,
): 'issues' | 'user-impact' | 'downtime' | 'performance' | undefined {
  if (questionId.startsWith('post-deployment-issues')) return 'issues';
  if (questionId.startsWith('user-impact')) return 'user-impact';
  if (questionId.startsWith('downtime')) return 'downtime';
  if (questionId.startsWith('performance-impact')) return 'performance';
  return undefined;
}

/** Questions the modal asks as free text: the checklist's, less those its own fields answer. */
export function freeTextQuestions(checklist: Checklist): Array<{ id: string; title: string }> {
  return (checklist.report?.questions ?? []).filter((question) => {
    const role = questionRole(question.id);
    return role !== 'issues' && role !== 'user-impact';
  });
}

/** Start to end, or to `now` while it runs. */
export function deploymentDuration(deployment: Deployment, now: number): number {
  return Math.max(0, (deployment.endedAt ?? now) - deployment.createdAt);
}

export function describeTarget(target: TrafficTarget): string {
  return 'weight' in target ? `canary ${target.weight}%` : `${target.slot} slot`;
}

function describeState(state: TrafficState | undefined): string | undefined {
  return state?.description;
}

export function buildReport(
  deployment: Deployment,
  checklist: Checklist,
  events: readonly DeploymentEvent[] | undefined,
  now: number,
): DeploymentReport {
  // Follow-ups may still run after the end: their phases and checks are reported as of now.
  const end = deployment.endedAt ?? now;
  const audit = events ?? [];
  const itemIndex = new Map<string, { item: Item; phase: Phase }>();
  for (const phase of walkedPhases(checklist))
    for (const item of phase.items) itemIndex.set(item.id, { item, phase });
  const title = (itemId: string) => itemIndex.get(itemId)?.item.title ?? itemId;

  const checks = buildChecks(deployment, checklist, audit, events !== undefined);
  const traffic = buildTraffic(deployment, audit, title);
  const rollback = buildRollback(deployment);
  const guards = buildGuards(deployment, checklist, audit, now);
  const escalations = buildEscalations(deployment, checklist, audit, title);
  const retrospective = buildRetrospective(deployment, checklist);

  const flow = checklist.phases.filter((phase) => phase.after === undefined);
  // After a rollback its rollback phases are walked, after the end: reported as of now, like follow-ups.
  const afterRollback = countedPhases(deployment, checklist).filter((phase) =>
    isRollbackPhase(checklist, phase),
  );
  const phases = [
    ...flow.map((phase) => phaseReport(deployment, phase, end)),
    ...afterRollback.map((phase) => phaseReport(deployment, phase, now)),
  ];
  const followUps = checklist.phases
    .filter((phase) => phase.after !== undefined)
    .map((phase) => followUpReport(deployment, phase, checks, now));

  const pausedMs = pausedTime(deployment, audit, end);
  const degradedMs = unionLength(guards.map((guard) => [guard.heldSince, guard.heldUntil] as const));
  const firedGuards = guards.length;
  const escalated = escalations.filter((escalation) => escalation.levels.length > 0).length;
  const metrics: ReportMetrics = {
    durationMs: deploymentDuration(deployment, now),
    pausedMs,
    degradedMs,
    ...(rollback?.durationMs !== undefined ? { rollbackMs: rollback.durationMs } : {}),
    ...(rollback && deployment.guardsArmedAt !== undefined
      ? { exposureMs: Math.max(0, rollback.requestedAt - deployment.guardsArmedAt) }
      : {}),
    issuesFound: {
      total: checks.failedAtLeastOnce + firedGuards + escalated,
      failedChecks: checks.failedAtLeastOnce,
      firedGuards,
      escalations: escalated,
    },
  };
  if (retrospective) {
    metrics.postDeploymentIssues = retrospective.issues;
    if (retrospective.userImpact) metrics.userImpact = retrospective.userImpact;
    for (const answer of retrospective.answers) {
      const role = questionRole(answer.id);
      if (role === 'downtime') metrics.reportedDowntime = answer.answer;
      if (role === 'performance') metrics.performanceImpact = answer.answer;
    }
  }

  return {
    id: deployment.id,
    service: deployment.service,
    environment: deployment.environment,
    version: deployment.version,
    checklist: { id: checklist.id, title: checklist.title },
    status: deployment.status,
    requestedBy: deployment.requestedBy,
    startedAt: deployment.createdAt,
    ...(deployment.endedAt !== undefined ? { endedAt: deployment.endedAt } : {}),
    ...(deployment.endedBy !== undefined ? { endedBy: deployment.endedBy } : {}),
    ...(deployment.endReason !== undefined && deployment.status !== 'completed'
      ? { endReason: deployment.endReason }
      : {}),
    asOf: now,
    metrics,
    phases,
    followUps,
    traffic,
    ...(rollback ? { rollback } : {}),
    checks,
    items: buildItems(deployment, checklist),
    signoffs: buildSignoffs(deployment, checklist, audit),
    escalations,
    guards,
    ...optional('trafficShortfall', trafficShortfall(deployment, checklist)),
    ...optional('versionCheck', buildVersion(checklist, checks)),
    refusals: audit.flatMap((event) =>
      event.type === 'access.refused'
        ? [
            {
              at: event.at,
              actor: event.actor,
              action: event.action,
              ...(event.target ? { target: event.target } : {}),
              reason: event.reason,
            },
          ]
        : [],
    ),
    ...(retrospective ? { retrospective } : {}),
    questions: (checklist.report?.questions ?? []).map(({ id, title }) => ({ id, title })),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** The image checks of the checklist (those a deployment reached) and what they verified. */
function buildVersion(checklist: Checklist, checks: ChecksReport): VersionReport | undefined {
  const imageChecks = new Set(
    walkedPhases(checklist).flatMap((phase) =>
      phase.items.flatMap((item) =>
        item.kind === 'check' && item.check.type === 'kubernetes' && item.check.check === 'image'
          ? [item.id]
          : [],
      ),
    ),
  );
  if (imageChecks.size === 0) return undefined;
  const reached = checks.items.filter((check) => imageChecks.has(check.itemId));
  return {
    verified: reached
      .filter((check) => check.final === 'passed')
      .map((check) => ({ title: check.title, summary: check.summary ?? '' })),
    unverified: reached
      .filter((check) => check.final !== 'passed')
      .map((check) => ({
        title: check.title,
        final: check.final,
        ...(check.summary ? { summary: check.summary } : {}),
      })),
  };
}

function phaseReport(deployment: Deployment, phase: Phase, end: number): PhaseReport {
  const state = deployment.phases[phase.id];
  const items = {
    total: phase.items.length,
    resolved: phase.items.filter((item) => isResolvedStatus(deployment.items[item.id]?.status)).length,
  };
  const openedAt = state?.openedAt;
  const completedAt = state?.completedAt;
  const outcome: PhaseOutcome =
    state?.status === 'completed' ? 'completed' : openedAt !== undefined ? 'open' : 'not reached';
  const durationMs =
    openedAt === undefined ? undefined : Math.max(0, (completedAt ?? Math.max(end, openedAt)) - openedAt);
  return {
    id: phase.id,
    title: phase.title,
    outcome,
    ...(openedAt !== undefined ? { openedAt } : {}),
    ...(completedAt !== undefined ? { completedAt } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    items,
  };
}

function followUpReport(
  deployment: Deployment,
  phase: Phase,
  checks: ChecksReport,
  now: number,
): FollowUpReport {
  const state = deployment.phases[phase.id];
  const base = phaseReport(deployment, phase, now);
  let outcome: FollowUpOutcome;
  if (state?.status === 'completed') outcome = 'completed';
  else if (state?.status === 'active') outcome = 'open';
  else if (state?.status === 'scheduled')
    // A rolled-back or aborted deployment does not open its follow-ups (nothing to verify).
    outcome =
      deployment.status === 'rolled_back' || deployment.status === 'aborted' ? 'cancelled' : 'scheduled';
  else outcome = 'not scheduled';
  const mine = checks.items.filter((check) => check.phaseId === phase.id);
  return {
    ...base,
    outcome,
    afterMs: phase.after ?? 0,
    ...(state?.dueAt !== undefined ? { dueAt: state.dueAt } : {}),
    checks: {
      total: mine.length,
      passed: mine.filter((check) => check.final === 'passed').length,
      failed: mine.filter((check) => check.failures.length > 0).length,
    },
    failures: mine.flatMap((check) => check.failures),
  };
}

function isResolvedStatus(status: ItemStatus | undefined): boolean {
  return status === 'passed' || status === 'done' || status === 'skipped' || status === 'n/a';
}

function buildChecks(
  deployment: Deployment,
  checklist: Checklist,
  audit: readonly DeploymentEvent[],
  haveAudit: boolean,
): ChecksReport {
  const runsByItem = new Map<string, Array<{ run: number; result: CheckRun }>>();
  for (const event of audit) {
    if (event.type !== 'check.completed') continue;
    const list = runsByItem.get(event.itemId) ?? [];
    list.push({ run: event.run, result: event.result });
    runsByItem.set(event.itemId, list);
  }
  const items: CheckReport[] = [];
  for (const phase of countedPhases(deployment, checklist)) {
    for (const item of phase.items) {
      if (item.kind !== 'check') continue;
      const state = deployment.items[item.id];
      // Without the audit, the state's latest result is all there is.
      const runs =
        runsByItem.get(item.id) ??
        (!haveAudit && state?.result ? [{ run: state.run ?? 1, result: state.result }] : []);
      const failures: FailedRun[] = runs
        .filter(({ result }) => result.outcome !== 'passed')
        .map(({ run, result }) => ({
          itemId: item.id,
          title: item.title,
          run,
          at: result.at,
          outcome: result.outcome as FailedRun['outcome'],
          summary: result.summary,
          ...(result.value !== undefined ? { value: result.value } : {}),
          ...(result.unit !== undefined ? { unit: result.unit } : {}),
          ...(result.detail ? { detail: result.detail } : {}),
        }));
      const status = state?.status ?? 'pending';
      const final: CheckFinal = state?.overridden
        ? 'overridden'
        : status === 'passed'
          ? 'passed'
          : status === 'failed' || status === 'error'
            ? status
            : status === 'running'
              ? 'running'
              : status === 'skipped' || status === 'n/a'
                ? status
                : 'not run';
      items.push({
        itemId: item.id,
        title: item.title,
        phaseId: phase.id,
        runs: runs.length,
        final,
        ...(state?.result?.summary ? { summary: state.result.summary } : {}),
        failures,
      });
    }
  }
  return {
    total: items.length,
    run: items.filter((check) => check.runs > 0).length,
    runs: items.reduce((sum, check) => sum + check.runs, 0),
    passed: items.filter((check) => check.final === 'passed').length,
    failedAtLeastOnce: items.filter((check) => check.failures.length > 0).length,
    overridden: items.filter((check) => check.final === 'overridden').length,
    stillFailing: items.filter((check) => check.final === 'failed' || check.final === 'error').length,
    notRun: items.filter((check) => check.runs === 0 && check.final !== 'overridden').length,
    items,
    failedRuns: items.flatMap((check) => check.failures).sort((a, b) => a.at - b.at),
  };
}

function buildTraffic(
  deployment: Deployment,
  audit: readonly DeploymentEvent[],
  title: (itemId: string) => string,
): TrafficReport {
  const steps: TrafficStep[] = (deployment.traffic?.shifts ?? []).map((shift) => ({
    at: shift.at,
    by: shift.by,
    ...(shift.itemId ? { itemId: shift.itemId, itemTitle: title(shift.itemId) } : {}),
    target: describeTarget(shift.target),
    from: shift.before.description,
    to: shift.after.description,
    durationMs: shift.durationMs,
  }));
  const failures: TrafficFailure[] = audit
    .filter((event) => event.type === 'traffic.failed')
    .map((event) => ({
      at: event.at,
      by: event.actor,
      target: describeTarget(event.target),
      code: event.code,
      message: event.message,
    }));
  const initial = describeState(deployment.traffic?.initial);
  const final = describeState(deployment.traffic?.current);
  return {
    ...(deployment.trafficStrategy ? { strategy: deployment.trafficStrategy } : {}),
    ...(initial ? { initial } : {}),
    ...(final ? { final } : {}),
    steps,
    failures,
    ...(deployment.guardsArmedAt !== undefined ? { newCodeSince: deployment.guardsArmedAt } : {}),
  };
}

function buildRollback(deployment: Deployment): RollbackReport | undefined {
  const rollback = deployment.rollback;
  if (!rollback) return undefined;
  const from = describeState(rollback.before);
  const to = describeState(rollback.after);
  return {
    requestedAt: rollback.requestedAt,
    requestedBy: rollback.requestedBy,
    reason: rollback.reason,
    ...(rollback.trigger ? { trigger: rollback.trigger } : {}),
    ...(rollback.completedAt !== undefined ? { completedAt: rollback.completedAt } : {}),
    ...(rollback.durationMs !== undefined ? { durationMs: rollback.durationMs } : {}),
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    ...(rollback.error ? { error: rollback.error } : {}),
  };
}

function buildGuards(
  deployment: Deployment,
  checklist: Checklist,
  audit: readonly DeploymentEvent[],
  now: number,
): GuardReport[] {
  const triggers = new Map((checklist.rollback?.triggers ?? []).map((trigger) => [trigger.id, trigger]));
  const armedAt = deployment.guardsArmedAt ?? deployment.createdAt;
  const stop = deployment.rollback?.completedAt ?? deployment.endedAt ?? now;
  const guards: GuardReport[] = [];
  const open = new Map<string, GuardReport>();
  const fire = (triggerId: string, firedAt: number, measured: string, automatic: boolean) => {
    const trigger = triggers.get(triggerId);
    const guard: GuardReport = {
      triggerId,
      title: trigger?.title ?? triggerId,
      firedAt,
      measured,
      automatic,
      heldSince: Math.min(firedAt, Math.max(armedAt, firedAt - (trigger?.for ?? 0))),
      heldUntil: Math.max(firedAt, stop),
    };
    guards.push(guard);
    return guard;
  };
  for (const event of audit) {
    if (event.type === 'guard.fired')
      open.set(event.triggerId, fire(event.triggerId, event.at, event.measured, false));
    if (event.type === 'guard.overridden') {
      const guard = open.get(event.triggerId);
      if (guard) guard.overridden = { by: event.actor, at: event.at, reason: event.reason };
    }
    if (event.type === 'guard.cleared') {
      const guard = open.get(event.triggerId);
      if (guard) {
        guard.clearedAt = event.at;
        guard.heldUntil = Math.max(guard.firedAt, event.at);
        open.delete(event.triggerId);
      }
    }
  }
  if (audit.length === 0) {
    for (const [triggerId, firedAt] of Object.entries(deployment.firedGuards ?? {}))
      fire(triggerId, firedAt, '', false);
  }
  // A trigger that rolled back by itself never shows as fired: its rollback request carries it.
  const automatic = deployment.rollback?.trigger;
  if (automatic) fire(automatic.id, deployment.rollback?.requestedAt ?? now, automatic.measured, true);
  return guards;
}

function escalationSubject(checklist: Checklist, key: string, title: (itemId: string) => string): string {
  const colon = key.indexOf(':');
  const kind = colon < 0 ? key : key.slice(0, colon);
  const id = colon < 0 ? '' : key.slice(colon + 1);
  if (kind === 'phase') {
    const phase = walkedPhases(checklist).find((candidate) => candidate.id === id);
    return `“${phase?.title ?? id}” waited for people`;
  }
  if (kind === 'check') return `check “${title(id)}” failed and nobody re-ran or overrode it`;
  const trigger = checklist.rollback?.triggers.find((candidate) => candidate.id === id);
  return `rollback trigger “${trigger?.title ?? id}” fired without automatic rollback`;
}

function buildEscalations(
  deployment: Deployment,
  checklist: Checklist,
  audit: readonly DeploymentEvent[],
  title: (itemId: string) => string,
): EscalationReport[] {
  const chains = new Map<string, EscalationReport>();
  const chainOf = (key: string, chain: number, startedAt: number) => {
    const id = `${key}#${chain}`;
    let found = chains.get(id);
    if (!found) {
      found = { key, chain, about: escalationSubject(checklist, key, title), startedAt, levels: [] };
      chains.set(id, found);
    }
    return found;
  };
  for (const event of audit) {
    switch (event.type) {
      case 'escalation.started':
        chainOf(event.key, event.chain, event.startedAt);
        break;
      case 'escalation.level':
        chainOf(event.key, event.chain, event.at).levels.push({
          level: event.level,
          at: event.at,
          notify: event.notify,
          page: event.page,
        });
        break;
      case 'escalation.acknowledged':
        chainOf(event.key, event.chain, event.at).acknowledged = { by: event.actor, at: event.at };
        break;
      case 'escalation.resolved':
        chainOf(event.key, event.chain, event.at).resolvedAt = event.at;
        break;
    }
  }
  if (audit.length === 0) {
    for (const [key, state] of Object.entries(deployment.escalations ?? {})) {
      const chain = chainOf(key, state.chain, state.startedAt);
      for (let level = 1; level <= state.level; level++) {
        const config = deployment.escalationLevels?.[level - 1];
        chain.levels.push({
          level,
          at: state.startedAt + (config?.after ?? 0),
          notify: config?.notify ?? 'owner',
          page: config?.page ?? false,
        });
      }
      if (state.acknowledgedBy)
        chain.acknowledged = { by: state.acknowledgedBy, at: state.acknowledgedAt ?? state.startedAt };
      if (state.resolvedAt !== undefined) chain.resolvedAt = state.resolvedAt;
    }
  }
  // Chains that never reached a level were waits answered in time, not escalations.
  return [...chains.values()]
    .filter((chain) => chain.levels.length > 0)
    .sort((a, b) => a.startedAt - b.startedAt);
}

function buildItems(deployment: Deployment, checklist: Checklist): ItemsReport {
  const report: ItemsReport = {
    total: 0,
    done: 0,
    skipped: [],
    notApplicable: [],
    overridden: [],
    notDone: [],
    optionalOpen: [],
  };
  for (const phase of countedPhases(deployment, checklist)) {
    for (const item of phase.items) {
      report.total++;
      const state = deployment.items[item.id];
      const record: ItemRecord = {
        itemId: item.id,
        title: item.title,
        phaseTitle: phase.title,
        ...(state?.by ? { by: state.by } : {}),
        ...(state?.at !== undefined ? { at: state.at } : {}),
        ...(state?.reason ? { reason: state.reason } : {}),
      };
      const status = state?.status ?? 'pending';
      if (status === 'done' || status === 'passed') report.done++;
      if (status === 'skipped') report.skipped.push(record);
      else if (status === 'n/a') report.notApplicable.push(record);
      if (state?.overridden)
        report.overridden.push({ ...record, ...(state.result ? { showed: state.result.summary } : {}) });
      if (!isResolvedStatus(status)) {
        // Follow-ups not yet due are not "not done": they are scheduled.
        const phaseStatus = deployment.phases[phase.id]?.status;
        if (phase.after !== undefined && phaseStatus !== 'active' && phaseStatus !== 'completed') continue;
        if (item.required) report.notDone.push({ ...record, status });
        else report.optionalOpen.push(record);
      }
    }
  }
  return report;
}

function buildSignoffs(
  deployment: Deployment,
  checklist: Checklist,
  audit: readonly DeploymentEvent[],
): SignoffReport[] {
  const withdrawn = new Map<string, Array<{ by: Actor; at: number }>>();
  for (const event of audit) {
    if (event.type !== 'signoff.withdrawn') continue;
    const list = withdrawn.get(event.itemId) ?? [];
    list.push({ by: event.actor, at: event.at });
    withdrawn.set(event.itemId, list);
  }
  const reports: SignoffReport[] = [];
  for (const phase of countedPhases(deployment, checklist)) {
    for (const item of phase.items) {
      if (item.kind !== 'signoff') continue;
      const state = deployment.items[item.id];
      const status = state?.status ?? 'pending';
      reports.push({
        itemId: item.id,
        title: item.title,
        role: item.signoff.role,
        needed: item.signoff.count,
        status,
        signatures: [...(state?.signatures ?? [])],
        withdrawn: withdrawn.get(item.id) ?? [],
        ...(status === 'skipped' || status === 'n/a'
          ? { ...(state?.reason ? { reason: state.reason } : {}), ...(state?.by ? { by: state.by } : {}) }
          : {}),
        ...(state?.waived ? { waived: true } : {}),
      });
    }
  }
  return reports;
}

function buildRetrospective(deployment: Deployment, checklist: Checklist): RetrospectiveReport | undefined {
  const retro = deployment.retrospective;
  if (!retro) return undefined;
  const questions = checklist.report?.questions ?? [];
  const known = new Set(questions.map((question) => question.id));
  const answers = [
    ...questions.map((question) => ({ ...question, answer: retro.answers[question.id] ?? '' })),
    // Answers to questions the checklist no longer asks are still the team's words.
    ...Object.entries(retro.answers)
      .filter(([id]) => !known.has(id))
      .map(([id, answer]) => ({ id, title: id, answer })),
  ].filter((entry) => entry.answer.trim() !== '');
  return {
    by: retro.by,
    at: retro.at,
    issues: { ...retro.issues },
    ...(retro.userImpact ? { userImpact: retro.userImpact } : {}),
    answers,
  };
}

function pausedTime(deployment: Deployment, audit: readonly DeploymentEvent[], end: number): number {
  let total = 0;
  let since: number | undefined;
  for (const event of audit) {
    if (event.type === 'deployment.paused') since = event.at;
    if (event.type === 'deployment.resumed' && since !== undefined) {
      total += event.at - since;
      since = undefined;
    }
  }
  const stillPaused = since ?? (audit.length === 0 ? deployment.pausedAt : undefined);
  if (stillPaused !== undefined) total += Math.max(0, end - stillPaused);
  return total;
}

/** Total length covered by intervals that may overlap (two triggers holding at once count once). */
export function unionLength(intervals: ReadonlyArray<readonly [number, number]>): number {
  const sorted = intervals.filter(([from, to]) => to > from).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let current: [number, number] | undefined;
  for (const [from, to] of sorted) {
    if (!current || from > current[1]) {
      if (current) total += current[1] - current[0];
      current = [from, to];
    } else current[1] = Math.max(current[1], to);
  }
  if (current) total += current[1] - current[0];
  return total;
}
