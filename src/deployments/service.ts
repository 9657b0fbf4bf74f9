import { randomBytes } from 'node:crypto';
import type { Checklist, EscalationPolicy } from '../checklists/schema.js';
import { fillTemplates, MissingTemplateValues, type TemplateValues } from '../checklists/templating.js';
import type { ServiceConfig } from '../config/schema.js';
import {
  authorize,
  type Command,
  type Decision,
  type DeploymentEvent,
  decide,
  type RejectionCode,
  startDeployment,
} from './engine.js';
import { currentRequest } from './inbox.js';
import type { Actor, Deployment, TrafficState } from './model.js';
import type { DeploymentStore, LoadedDeployment } from './store.js';

/**
 * The one way deployments change: load, decide with the pure engine, compare-and-set in Redis, then tell
 * listeners (the Slack presenter, later the workers) what happened. Slack handlers, workers and timers
 * all come through here, so every path gets the same rules and the same audit trail.
 */

export interface Change {
  deployment: Deployment;
  checklist: Checklist;
  events: DeploymentEvent[];
}

/** Told about every committed change. Must return quickly; slow work is queued by the listener. */
export interface ChangeListener {
  onChange(change: Change): void;
}

export interface Catalogue {
  services: Readonly<Record<string, ServiceConfig>>;
  checklists: ReadonlyMap<string, Checklist>;
  /** flightdeck.yaml `time_scale`: shortens watch windows for demos and tests. */
  timeScale?: number;
  /** flightdeck.yaml `escalation:`, for checklists without their own. */
  escalation?: EscalationPolicy;
}

export type StartError =
  | { code: 'unknown_service'; message: string }
  | { code: 'unknown_checklist'; message: string }
  | { code: 'missing_values'; message: string }
  | { code: 'live_unknown'; message: string }
  | { code: 'locked'; message: string; activeId: string };

/**
 * Reads what is live on the cluster for a service with a traffic strategy (the slot, the weight, or the
 * revision and pod template), so a rollback can return there and nowhere else. Throws when it cannot.
 */
export type LiveStateReader = (service: string, config: ServiceConfig) => Promise<TrafficState>;

export type StartResult =
  | { ok: true; deployment: Deployment; checklist: Checklist }
  | ({ ok: false } & StartError);

export type ExecuteResult =
  | Decision
  | { ok: false; code: 'not_found' | 'contention' | 'locked'; message: string };

/** Refusals that are about who asked, not about the state: each is written to the audit stream. */
const AUDITED_REFUSALS: ReadonlySet<RejectionCode> = new Set(['forbidden', 'four_eyes', 'not_waivable']);

interface Pending {
  command: Command | ((state: Deployment) => Command);
  /** The person's request this command carries out (its inbox entry leaves with the commit). */
  request?: string;
  resolve: (result: ExecuteResult) => void;
  reject: (error: unknown) => void;
}

export interface ExecuteOptions {
  /**
   * Wait this long before applying, so that commands arriving meanwhile are applied in the same batch. For
   * check verdicts (a phase's checks finish within milliseconds of each other: one write instead of
   * twenty); never for clicks, which want their answer now.
   */
  gatherMs?: number;
}

export interface StartRequest {
  service: string;
  version: string;
  checklistId?: string;
  actor: Actor;
}

export class DeploymentService {
  private readonly listeners: ChangeListener[] = [];
  /** Per-deployment queue inside this process, so local clicks take turns instead of racing the CAS. */
  private readonly turns = new Map<string, Promise<unknown>>();
  /** Per deployment: the commands that will be applied together in its next turn. */
  private readonly waiting = new Map<string, Pending[]>();
  private static readonly MAX_ATTEMPTS = 50;
  private static readonly MAX_BATCH = 64;

  constructor(
    private readonly store: DeploymentStore,
    private readonly catalogue: Catalogue,
    private readonly now: () => number = Date.now,
    /** Services with a traffic strategy: what is live as a deployment starts. */
    private readonly readLive?: LiveStateReader,
  ) {}

  subscribe(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  /** Which checklist a start would use, or why none: cheap and synchronous, so it can run before `ack()`. */
  resolveStart(
    request: Omit<StartRequest, 'actor'>,
  ): { ok: true; service: ServiceConfig; checklist: Checklist } | ({ ok: false } & StartError) {
    const service = this.catalogue.services[request.service];
    if (!service) {
      const known = Object.keys(this.catalogue.services).sort();
      return {
        ok: false,
        code: 'unknown_service',
        message: `No service "${request.service}" in flightdeck.yaml. Known: ${known.join(', ') || '(none)'}.`,
      };
    }
    const checklistId = request.checklistId ?? service.checklist;
    const allowed = [service.checklist, ...service.checklists];
    const checklist = this.catalogue.checklists.get(checklistId);
    if (!checklist || !allowed.includes(checklistId)) {
      return {
        ok: false,
        code: 'unknown_checklist',
        message: `"${request.service}" cannot run checklist "${checklistId}". Allowed: ${allowed.join(', ')}.`,
      };
    }
    return { ok: true, service, checklist };
  }

  async start(request: StartRequest): Promise<StartResult> {
    const resolved = this.resolveStart(request);
    if (!resolved.ok) return resolved;
    const { service, checklist } = resolved;
    const values = templateValues(request.service, request.version, service);
    let filled: Checklist;
    try {
      filled = fillTemplates(checklist, values);
    } catch (error) {
      if (!(error instanceof MissingTemplateValues)) throw error;
      return {
        ok: false,
        code: 'missing_values',
        message: `Checklist "${checklist.id}" needs ${error.names.map((n) => `{{${n}}}`).join(', ')}, which service "${request.service}" does not define in flightdeck.yaml.`,
      };
    }
    // What is live now is where any rollback of this deployment returns: without it, nothing starts.
    let liveAtStart: TrafficState | undefined;
    if (service.traffic && this.readLive) {
      try {
        liveAtStart = await this.readLive(request.service, service);
      } catch (error) {
        return {
          ok: false,
          code: 'live_unknown',
          message: `Could not read what is live for ${request.service} (${(error as Error).message}), so nothing was started: a rollback must know where to return. Try again once the cluster answers.`,
        };
      }
    }
    const { state, events } = startDeployment(filled, {
      id: newDeploymentId(),
      service: request.service,
      environment: service.environment,
      version: request.version,
      channel: service.channel,
      requestedBy: request.actor,
      deployers: service.deployers,
      ...(service.traffic ? { trafficStrategy: service.traffic.strategy } : {}),
      escalationLevels: (checklist.escalation ?? this.catalogue.escalation)?.levels ?? [],
      timeScale: this.catalogue.timeScale ?? 1,
      ...(liveAtStart ? { liveAtStart } : {}),
      at: this.now(),
    });
    const inboxId = currentRequest();
    const created = await this.store.create(state, checklist, values, events, inboxId ? [inboxId] : []);
    if (!created.ok) {
      return {
        ok: false,
        code: 'locked',
        activeId: created.activeId,
        message: `${request.service} (${service.environment}) already has an active deployment.`,
      };
    }
    this.publish({ deployment: state, checklist: filled, events });
    await this.supersedePrevious(state);
    return { ok: true, deployment: state, checklist: filled };
  }

  /**
   * The deployment before this one of the service can no longer be rolled back (its card loses the button).
   * The store refuses such a rollback by itself (the lock and the history are checked in the same write);
   * this says so on the older deployment too.
   */
  private async supersedePrevious(started: Deployment): Promise<void> {
    const [, previous] = await this.store.history(started.service, 2);
    if (!previous) return;
    await this.execute(previous, {
      type: 'supersede',
      by: started.id,
      version: started.version,
      at: started.createdAt,
    }).catch(() => undefined);
  }

  /**
   * Whether `command` would be allowed, asked before a dialog opens (so nobody types a reason only to be
   * refused): the same rule the engine applies when it is carried out. A refusal is audited.
   */
  async permitted(
    id: string,
    command: Command,
  ): Promise<{ ok: true; loaded: LoadedDeployment } | { ok: false; message: string }> {
    const loaded = await this.store.load(id);
    if (!loaded) return { ok: false, message: `No deployment "${id}".` };
    const refusal = authorize(loaded.checklist, loaded.state, command);
    if (!refusal) return { ok: true, loaded };
    const event = refusalEvent(command, refusal.code, refusal.message, this.now());
    if (event) await this.store.appendAudit(id, [event]);
    return { ok: false, message: refusal.message };
  }

  /**
   * Applies a command; `build` may look at the current state (e.g. to pick the actor's roles).
   *
   * Commands for one deployment take turns in this process. Those that arrive while a turn is running
   * (a phase's checks finishing together, a burst of clicks) wait together and are applied as one batch
   * in the next turn: one load, each decided in arrival order on the state the previous one left, one
   * compare-and-set for all of them. Each caller gets its own decision, and listeners hear one change per
   * command as if they had been committed one by one.
   */
  execute(
    id: string,
    command: Command | ((state: Deployment) => Command),
    options: ExecuteOptions = {},
  ): Promise<ExecuteResult> {
    return new Promise((resolve, reject) => {
      let batch = this.waiting.get(id);
      if (!batch || batch.length >= DeploymentService.MAX_BATCH) {
        const fresh: Pending[] = [];
        batch = fresh;
        this.waiting.set(id, fresh);
        // Behind a running turn the batch gathers anyway, while it waits for that turn.
        const gatherMs = this.turns.has(id) ? 0 : (options.gatherMs ?? 0);
        void this.takeTurn(id, async () => {
          if (gatherMs > 0) await new Promise((done) => setTimeout(done, gatherMs));
          if (this.waiting.get(id) === fresh) this.waiting.delete(id);
          return this.applyBatch(id, fresh);
        });
      }
      const request = currentRequest();
      batch.push({ command, resolve, reject, ...(request ? { request } : {}) });
    });
  }

  private async applyBatch(id: string, batch: Pending[]): Promise<void> {
    try {
      // The first attempt decides on what this process last read or wrote, without asking Redis: the
      // commit's compare-and-set refuses it if another replica has written since, and the retry loads.
      // A batch whose commands were all refused writes nothing, so nothing checked that state: it is
      // confirmed by a load (which sends no state when the revision is unchanged) before anyone is told.
      let loaded = this.store.cached(id);
      let confirmed = false;
      // Set when the commit found the service's lock taken (or a later deployment): rollbacks in this
      // batch are refused with it, the rest are decided again.
      let lockRefusal: { code: 'locked' | 'superseded'; message: string } | undefined;
      for (let attempt = 0; attempt < DeploymentService.MAX_ATTEMPTS; attempt++) {
        if (!loaded) {
          loaded = await this.store.load(id);
          confirmed = true;
        }
        if (!loaded) {
          for (const pending of batch)
            pending.resolve({ ok: false, code: 'not_found', message: `No deployment "${id}".` });
          return;
        }
        let state = loaded.state;
        const changes: Change[] = [];
        const refusals: DeploymentEvent[] = [];
        const outcomes: Array<{ ok: true; result: ExecuteResult } | { ok: false; error: unknown }> = [];
        for (const { command: asked } of batch) {
          try {
            const command = typeof asked === 'function' ? asked(state) : asked;
            if (lockRefusal && command.type === 'request-rollback') {
              outcomes.push({ ok: true, result: { ok: false, ...lockRefusal } });
              continue;
            }
            const decision = decide(loaded.checklist, state, command);
            outcomes.push({ ok: true, result: decision });
            if (!decision.ok) {
              const refused = refusalEvent(command, decision.code, decision.message, this.now());
              if (refused) refusals.push(refused);
              continue;
            }
            state = decision.state;
            changes.push({
              deployment: decision.state,
              checklist: loaded.checklist,
              events: decision.events,
            });
          } catch (error) {
            // A command that throws fails alone; the others in its batch still apply.
            outcomes.push({ ok: false, error });
          }
        }
        const settle = () =>
          batch.forEach((pending, index) => {
            const outcome = outcomes[index];
            if (outcome?.ok) pending.resolve(outcome.result);
            else pending.reject(outcome?.error);
          });
        if (changes.length === 0) {
          if (!confirmed) {
            const fresh = await this.store.load(id);
            confirmed = true;
            if (fresh?.rev !== loaded.rev) {
              loaded = fresh; // it had moved on: decide again on what Redis holds
              continue;
            }
          }
          if (refusals.length > 0) await this.store.appendAudit(id, refusals);
          return settle();
        }
        const events = [...changes.flatMap((change) => change.events), ...refusals];
        const requests = batch.flatMap((pending) => (pending.request ? [pending.request] : []));
        const committed = await this.store.commit(state, loaded.rev, events, requests);
        if (committed === 'ok') {
          for (const change of changes) this.publish(change);
          return settle();
        }
        if (committed === 'locked' || committed === 'superseded') {
          lockRefusal = await this.lockRefusal(state, committed);
          continue; // the same state, without the rollback
        }
        loaded = undefined;
        // Another replica wrote first (or the cached state was behind): decide again on fresh state, after
        // a little jittered back-off when it was a real race.
        if (confirmed)
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
      }
      for (const pending of batch)
        pending.resolve({
          ok: false,
          code: 'contention',
          message: 'The deployment is changing too fast; try again.',
        });
    } catch (error) {
      // Redis failed (load or commit): nothing of this batch was written.
      for (const pending of batch) pending.reject(error);
    }
  }

  /** Why a completed deployment cannot take its service's lock to roll back. */
  private async lockRefusal(
    state: Deployment,
    why: 'locked' | 'superseded',
  ): Promise<{ code: 'locked' | 'superseded'; message: string }> {
    if (why === 'superseded')
      return {
        code: 'superseded',
        message: `A later deployment of ${state.service} has started, so ${state.version} is no longer what runs: roll back from the current deployment's thread.`,
      };
    const holder = await this.store.activeFor(state.service, state.environment);
    const active = holder ? (await this.store.load(holder))?.state : undefined;
    return {
      code: 'locked',
      message: `${state.service} ${active?.version ?? ''} (\`${holder ?? '?'}\`) is being deployed now; rolling back ${state.version} underneath it is refused. Finish or abort it first, or roll back from its thread.`,
    };
  }

  load(id: string) {
    return this.store.load(id);
  }

  private async takeTurn<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.turns.get(id) ?? Promise.resolve();
    const mine = previous.then(work, work);
    const settled = mine.catch(() => undefined);
    this.turns.set(id, settled);
    void settled.then(() => {
      if (this.turns.get(id) === settled) this.turns.delete(id);
    });
    return mine;
  }

  private publish(change: Change): void {
    for (const listener of this.listeners) listener.onChange(change);
  }
}

/** The audit entry for a refusal that is about who asked (others are not worth an entry). */
export function refusalEvent(
  command: Command,
  code: RejectionCode,
  reason: string,
  at: number,
): DeploymentEvent | undefined {
  if (!AUDITED_REFUSALS.has(code) || !('actor' in command)) return undefined;
  const action = command.type === 'resolve-item' ? `resolve-item ${command.resolution}` : command.type;
  const target =
    'itemId' in command && command.itemId
      ? command.itemId
      : 'key' in command
        ? command.key
        : 'triggerId' in command
          ? command.triggerId
          : undefined;
  return {
    type: 'access.refused',
    at,
    actor: command.actor,
    action,
    ...(target ? { target } : {}),
    code,
    reason,
  };
}

/** The values `{{…}}` placeholders are filled with: the deployment's own plus the catalogue entry's. */
export function templateValues(serviceName: string, version: string, service: ServiceConfig): TemplateValues {
  const values: Record<string, string | undefined> = {
    service: serviceName,
    version,
    environment: service.environment,
    namespace: service.namespace,
    channel: service.channel,
    prometheus_url: service.prometheus_url,
    health_url: service.health_url,
    base_url: service.base_url,
  };
  for (const [group, entries] of Object.entries({
    links: service.links,
    kubernetes: service.kubernetes,
    vars: service.vars,
  })) {
    for (const [name, value] of Object.entries(entries)) values[`${group}.${name}`] = value;
  }
  return values;
}

/** Short, sortable, safe in Redis keys, Slack values and BullMQ job ids (no ':'). */
export function newDeploymentId(): string {
  return `d${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}
