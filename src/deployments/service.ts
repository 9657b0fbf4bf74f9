import { randomBytes } from 'node:crypto';
import type { Checklist, EscalationPolicy } from '../checklists/schema.js';
import { fillTemplates, MissingTemplateValues, type TemplateValues } from '../checklists/templating.js';
import type { ServiceConfig } from '../config/schema.js';
import { type Command, type Decision, type DeploymentEvent, decide, startDeployment } from './engine.js';
import type { Actor, Deployment } from './model.js';
import type { DeploymentStore } from './store.js';

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
  | { code: 'locked'; message: string; activeId: string };

export type StartResult =
  | { ok: true; deployment: Deployment; checklist: Checklist }
  | ({ ok: false } & StartError);

export type ExecuteResult = Decision | { ok: false; code: 'not_found' | 'contention'; message: string };

interface Pending {
  command: Command | ((state: Deployment) => Command);
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
      at: this.now(),
    });
    const created = await this.store.create(state, checklist, values, events);
    if (!created.ok) {
      return {
        ok: false,
        code: 'locked',
        activeId: created.activeId,
        message: `${request.service} (${service.environment}) already has an active deployment.`,
      };
    }
    this.publish({ deployment: state, checklist: filled, events });
    return { ok: true, deployment: state, checklist: filled };
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
      batch.push({ command, resolve, reject });
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
        const outcomes: Array<{ ok: true; result: ExecuteResult } | { ok: false; error: unknown }> = [];
        for (const { command } of batch) {
          try {
            const decision = decide(
              loaded.checklist,
              state,
              typeof command === 'function' ? command(state) : command,
            );
            outcomes.push({ ok: true, result: decision });
            if (!decision.ok) continue;
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
          if (confirmed) return settle();
          const fresh = await this.store.load(id);
          confirmed = true;
          if (fresh?.rev === loaded.rev) return settle();
          loaded = fresh; // it had moved on: decide again on what Redis holds
          continue;
        }
        const events = changes.flatMap((change) => change.events);
        if (await this.store.commit(state, loaded.rev, events)) {
          for (const change of changes) this.publish(change);
          return settle();
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
