import { createHash } from 'node:crypto';
import type { V1Deployment, V1LabelSelector } from '@kubernetes/client-node';
import { rolloutStatus, selectorString } from '../checks/kubernetes/rollout.js';
import type { KubeClients } from '../kube/client.js';
import { formatDuration } from '../shared/duration.js';
import {
  isConflict,
  lookAfterFailure,
  mayHaveApplied,
  outcomeUnknown,
  RequestFailed,
  type Requests,
  trafficError,
} from './kube.js';
import {
  type RollbackOptions,
  type TrafficChange,
  TrafficError,
  type TrafficState,
  type TrafficStrategy,
} from './types.js';

/**
 * A rolling Deployment: no traffic to shift (the new ReplicaSet takes all of it as it rolls out), and
 * rollback is `kubectl rollout undo` through the API, as kubectl's DeploymentRollbacker does it:
 *   - the ReplicaSets the Deployment controls (its selector, then a controller ownerReference with its uid),
 *   - the one with the previous `deployment.kubernetes.io/revision` (the highest below the current one),
 *   - its pod template without the `pod-template-hash` label replaces the Deployment's template, and its
 *     annotations replace the Deployment's (kubectl keeps the Deployment's own revision and
 *     last-applied annotations; `kubernetes.io/change-cause` comes back from the ReplicaSet — kubectl
 *     writes no new one), in one JSON Patch;
 *   - nothing is written when the template already matches ("skipped rollback" in kubectl).
 * We add the resourceVersion we read to that patch (kubectl does not), so a concurrent change is
 * re-read instead of overwritten, and, given a rollback `key`, an annotation naming it and the template
 * written: a retry of the same rollback (its rollout stalled, say) then finds its undo in place and only
 * waits, where a second undo would flip back to the revision being rolled back from. Then we wait for the
 * rollout to complete by kubectl's rollout-status rules (`rolloutStatus`), polling.
 *
 * Objects are read as raw JSON through the generic object endpoints (`CustomObjectsApi` serves any group
 * at the same paths): the typed models drop fields they do not know, and a pod template copied through
 * them would lose whatever a newer cluster added.
 */

const REVISION = 'deployment.kubernetes.io/revision';
/** `<rollback key> <digest of the pod template written>`: which rollback put this template here. */
export const ROLLED_BACK = 'flightdeck.dev/rolled-back';
const TEMPLATE_HASH = 'pod-template-hash';
/** Annotations kubectl's undo keeps from the Deployment rather than take from the ReplicaSet. */
const KEPT_ANNOTATIONS = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'deployment.kubernetes.io/revision',
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
];

export interface RollingSettings {
  namespace: string;
  deployment: string;
}

type Json = Record<string, unknown>;

interface Meta {
  name?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { uid?: string; controller?: boolean }[];
}

interface PodTemplate {
  metadata?: Json & { labels?: Record<string, string> };
  spec?: Json & { containers?: { name?: string; image?: string }[] };
}

interface RawDeployment {
  metadata?: Meta;
  spec?: { paused?: boolean; selector?: V1LabelSelector; template?: PodTemplate };
  status?: Json;
}

interface RawReplicaSet {
  metadata?: Meta;
  spec?: { template?: PodTemplate };
}

/** What the undo writes, or that the Deployment already runs the revision to return to. */
type Plan =
  | { kind: 'write'; revision?: number; template: PodTemplate; annotations: Record<string, string> }
  | { kind: 'there'; revision?: number };

export class RollingStrategy implements TrafficStrategy {
  private readonly subject: string;

  constructor(
    private readonly clients: KubeClients,
    private readonly settings: RollingSettings,
    private readonly requests: Requests,
  ) {
    this.subject = `Deployment ${settings.namespace}/${settings.deployment}`;
  }

  describe(): string {
    return `rolling ${this.subject} (rollback: rollout undo)`;
  }

  async current(signal?: AbortSignal): Promise<TrafficState> {
    try {
      return this.state(await this.read(signal));
    } catch (error) {
      throw trafficError(error, this.subject, 'read');
    }
  }

  /** The revision and its pod template: what a rollback restores when the deployment started here. */
  async live(signal?: AbortSignal): Promise<TrafficState> {
    const deployment = await this.readOrFail(signal, 'read');
    const template = structuredClone(deployment.spec?.template ?? {});
    if (template.metadata?.labels) delete template.metadata.labels[TEMPLATE_HASH];
    return { ...this.state(deployment), template: template as Record<string, unknown> };
  }

  shift(): Promise<TrafficChange> {
    return Promise.reject(
      new TrafficError(
        'invalid',
        `a rolling Deployment takes all traffic as it rolls out: ${this.subject} has no weight or slot to shift`,
      ),
    );
  }

  /**
   * Undo to the revision that was live when the deployment started (`--to-revision to.revision`). Its
   * ReplicaSet's template is written when it is still there; when the history no longer has it (an undo
   * renumbered it, or it was pruned), the template recorded then (`to.template`). A Deployment that
   * already runs that template is left alone.
   */
  async rollback(signal: AbortSignal | undefined, options: RollbackOptions): Promise<TrafficChange> {
    const started = performance.now();
    let attempts = 0;
    for (;;) {
      const deployment = await this.readOrFail(signal, 'read');
      const before = this.state(deployment);
      if (deployment.spec?.paused)
        throw new TrafficError(
          'invalid',
          `${this.subject} is paused: resume it first (kubectl rollout resume), then roll back`,
          { state: before },
        );
      const plan = await this.plan(deployment, options, signal, before);
      if (plan.kind === 'there' || sameTemplate(plan.template, deployment.spec?.template)) {
        const target = deployment.spec?.template ?? {};
        const done = await this.waitForRollout(target, plan.revision, signal);
        return this.change(before, done, attempts, started);
      }

      attempts++;
      try {
        await this.write(deployment, plan, signal);
      } catch (error) {
        if (isConflict(error) && attempts < this.requests.options.maxAttempts) {
          await this.requests.pause(this.requests.backoff(attempts), signal).catch((stopped: unknown) => {
            throw trafficError(stopped, this.subject, 'patch', before);
          });
          continue;
        }
        if (isConflict(error))
          throw new TrafficError(
            'conflict',
            `${this.subject} kept changing while we rolled it back: ${attempts} writes answered 409 Conflict`,
            { state: before, cause: error },
          );
        // A refusal (403, 404, 422) stored nothing: what we read before writing is still live.
        if (!mayHaveApplied(error)) throw trafficError(error, this.subject, 'patch', before);
        // A timeout, a 5xx or a dropped connection may have stored it: only a read can tell.
        const looked = await lookAfterFailure(signal, (limited) => this.read(limited));
        if (!looked) throw outcomeUnknown(error, this.subject, 'patch');
        if (!sameTemplate(looked.spec?.template, plan.template))
          throw trafficError(error, this.subject, 'patch', this.state(looked));
        // Stored although its answer was lost: follow the rollout as after any undo.
        const done = await this.waitForRollout(plan.template, plan.revision, signal);
        return this.change(before, done, attempts, started);
      }

      let readBack: RawDeployment;
      try {
        readBack = await this.read(signal);
      } catch (error) {
        // The undo was accepted, so "refused" would be false; what it left is unknown until a read works.
        throw outcomeUnknown(error, this.subject, 'read back');
      }
      if (!sameTemplate(readBack.spec?.template, plan.template)) {
        const state = this.state(readBack);
        throw new TrafficError(
          'mismatch',
          `asked for revision ${plan.revision}'s pod template, but ${this.subject} reads back another (${state.description})`,
          { state },
        );
      }
      const done = await this.waitForRollout(plan.template, plan.revision, signal);
      return this.change(before, done, attempts, started);
    }
  }

  private change(
    before: TrafficState,
    done: RawDeployment,
    attempts: number,
    started: number,
  ): TrafficChange {
    return { before, after: this.state(done), attempts, durationMs: Math.round(performance.now() - started) };
  }

  private async plan(
    deployment: RawDeployment,
    { to, key }: RollbackOptions,
    signal: AbortSignal | undefined,
    before: TrafficState,
  ): Promise<Plan> {
    const own = deployment.metadata?.annotations ?? {};
    // This rollback's own undo is in place (an earlier attempt wrote it): wait for it, do not undo it.
    if (key !== undefined && own[ROLLED_BACK] === rolledBackMark(key, deployment.spec?.template))
      return { kind: 'there', ...optionalRevision(revisionOf(deployment.metadata)) };
    const owned = await this.replicaSets(deployment, signal, before);
    const revisions = owned
      .map((rs) => ({ rs, revision: revisionOf(rs.metadata) }))
      .filter((entry): entry is { rs: RawReplicaSet; revision: number } => entry.revision !== undefined)
      .sort((a, b) => b.revision - a.revision);
    const current = revisionOf(deployment.metadata) ?? revisions[0]?.revision ?? 0;
    const refuse = (message: string) => new TrafficError('invalid', message, { state: before });

    const recorded = to.template as PodTemplate | undefined;
    if (recorded && sameTemplate(recorded, deployment.spec?.template))
      return { kind: 'there', ...optionalRevision(revisionOf(deployment.metadata)) };
    if (to.revision === undefined && !recorded)
      throw refuse(`no record of the revision of ${this.subject} that was live when the deployment started`);
    if (to.revision === current && !recorded) return { kind: 'there', revision: current };
    const chosen = revisions.find(
      (entry) =>
        entry.revision === to.revision && (!recorded || sameTemplate(entry.rs.spec?.template, recorded)),
    );
    if (!chosen) {
      if (to.image && !recorded && imageOf(deployment.spec?.template) === to.image) return { kind: 'there' };
      if (recorded) return this.restore(recorded, own, key, to.revision);
      const kept = revisions.map((entry) => entry.revision).reverse();
      throw refuse(
        `revision ${to.revision} is no longer in the history of ${this.subject} (it keeps ${kept.length ? kept.join(', ') : 'none'})`,
      );
    }

    const template = structuredClone(chosen.rs.spec?.template ?? {});
    if (template.metadata?.labels) delete template.metadata.labels[TEMPLATE_HASH];
    const annotations: Record<string, string> = {};
    for (const name of KEPT_ANNOTATIONS) if (own[name] !== undefined) annotations[name] = own[name];
    for (const [name, value] of Object.entries(chosen.rs.metadata?.annotations ?? {}))
      if (!KEPT_ANNOTATIONS.includes(name) && name !== ROLLED_BACK) annotations[name] = value;
    if (key !== undefined) annotations[ROLLED_BACK] = rolledBackMark(key, template);
    return { kind: 'write', revision: chosen.revision, template, annotations };
  }

  /** The recorded template itself, when no ReplicaSet holds it any more; the Deployment keeps its annotations. */
  private restore(
    recorded: PodTemplate,
    own: Record<string, string>,
    key: string | undefined,
    revision: number | undefined,
  ): Plan {
    const template = structuredClone(recorded);
    const annotations = { ...own };
    if (key !== undefined) annotations[ROLLED_BACK] = rolledBackMark(key, template);
    return { kind: 'write', ...(revision !== undefined ? { revision } : {}), template, annotations };
  }

  /** The ReplicaSets this Deployment controls: its selector, then the controller reference's uid. */
  private async replicaSets(
    deployment: RawDeployment,
    signal: AbortSignal | undefined,
    before: TrafficState,
  ): Promise<RawReplicaSet[]> {
    const selector = deployment.spec?.selector;
    if (!selector) throw new TrafficError('invalid', `${this.subject} has no selector`, { state: before });
    const uid = deployment.metadata?.uid;
    const { namespace } = this.settings;
    let list: { items?: RawReplicaSet[] };
    try {
      list = (await this.requests.send(signal, (options) =>
        this.clients.custom.listNamespacedCustomObject(
          {
            group: 'apps',
            version: 'v1',
            namespace,
            plural: 'replicasets',
            labelSelector: selectorString(selector),
          },
          options,
        ),
      )) as { items?: RawReplicaSet[] };
    } catch (error) {
      throw trafficError(error, `the ReplicaSets of ${this.subject}`, 'list', before);
    }
    return (list.items ?? []).filter((rs) =>
      (rs.metadata?.ownerReferences ?? []).some((ref) => ref.controller === true && ref.uid === uid),
    );
  }

  private async write(
    deployment: RawDeployment,
    plan: Extract<Plan, { kind: 'write' }>,
    signal?: AbortSignal,
  ) {
    const { namespace, deployment: name } = this.settings;
    const body = [
      { op: 'replace', path: '/metadata/resourceVersion', value: deployment.metadata?.resourceVersion },
      { op: 'replace', path: '/spec/template', value: plan.template },
      { op: 'add', path: '/metadata/annotations', value: plan.annotations },
    ];
    await this.requests.send(signal, (options) =>
      this.clients.apps.patchNamespacedDeployment({ name, namespace, body }, options),
    );
  }

  /** Polls until kubectl would call the rollout complete, the Deployment's deadline passes, or ours does. */
  private async waitForRollout(
    template: PodTemplate,
    revision: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<RawDeployment> {
    const limit = this.requests.options.rolloutTimeoutMs;
    const deadline = performance.now() + limit;
    const which = revision === undefined ? 'the earlier revision' : `revision ${revision}`;
    let last: RawDeployment | undefined;
    for (;;) {
      try {
        last = await this.read(signal);
      } catch (error) {
        // A slow or busy API while we wait is no reason to give up before our deadline.
        const transient =
          error instanceof RequestFailed &&
          (error.failure.kind === 'timeout' ||
            error.failure.kind === 'network' ||
            (error.failure.kind === 'status' && error.failure.code >= 500));
        if (!transient || performance.now() >= deadline)
          throw trafficError(error, this.subject, 'follow the rollout of', last && this.state(last));
      }
      if (last) {
        const state = this.state(last);
        if (!sameTemplate(last.spec?.template, template))
          throw new TrafficError(
            'mismatch',
            `${this.subject} changed while rolling back to ${which}: it now runs ${state.description}`,
            { state },
          );
        const verdict = rolloutStatus(last as V1Deployment);
        if (verdict.done) return last;
        if (verdict.deadlineExceeded)
          throw new TrafficError('timeout', `rolled back to ${which}, but ${verdict.message}`, {
            state,
            retryable: false,
          });
        if (performance.now() >= deadline)
          throw new TrafficError(
            'timeout',
            `rolled back to ${which}, but the rollout did not complete within ${formatDuration(limit)}: ${verdict.message}`,
            { state },
          );
      }
      const wait = Math.max(0, Math.min(this.requests.options.pollMs, deadline - performance.now()));
      await this.requests.pause(wait, signal).catch((stopped: unknown) => {
        throw trafficError(stopped, this.subject, 'follow the rollout of', last && this.state(last));
      });
    }
  }

  private read(signal: AbortSignal | undefined): Promise<RawDeployment> {
    const { namespace, deployment: name } = this.settings;
    return this.requests.send(signal, (options) =>
      this.clients.custom.getNamespacedCustomObject(
        { group: 'apps', version: 'v1', namespace, plural: 'deployments', name },
        options,
      ),
    ) as Promise<RawDeployment>;
  }

  private async readOrFail(signal: AbortSignal | undefined, doing: string): Promise<RawDeployment> {
    try {
      return await this.read(signal);
    } catch (error) {
      throw trafficError(error, this.subject, doing);
    }
  }

  private state(deployment: RawDeployment): TrafficState {
    const name = this.settings.deployment;
    const revision = revisionOf(deployment.metadata);
    const image = imageOf(deployment.spec?.template);
    const verdict = rolloutStatus(deployment as V1Deployment);
    const at = revision === undefined ? 'no revision yet' : `revision ${revision}`;
    const progress = verdict.done ? 'rolled out' : verdict.message;
    return {
      ...(revision !== undefined ? { revision } : {}),
      ...(image ? { image } : {}),
      description: `${at}${image ? ` (${image})` : ''} of Deployment ${name}: ${progress}`,
    };
  }
}

function revisionOf(meta: Meta | undefined): number | undefined {
  const raw = meta?.annotations?.[REVISION];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

function optionalRevision(revision: number | undefined): { revision?: number } {
  return revision === undefined ? {} : { revision };
}

/** The rollback key and a digest of the template (without pod-template-hash, canonical JSON). */
function rolledBackMark(key: string, template: PodTemplate | undefined): string {
  const copy = structuredClone(template ?? {});
  if (copy.metadata?.labels) delete copy.metadata.labels[TEMPLATE_HASH];
  const digest = createHash('sha256')
    .update(JSON.stringify(canonical(copy)))
    .digest('hex')
    .slice(0, 16);
  return `${key} ${digest}`;
}

function imageOf(template: PodTemplate | undefined): string | undefined {
  const images = (template?.spec?.containers ?? []).map((c) => c.image).filter((i): i is string => !!i);
  return images.length ? images.join(', ') : undefined;
}

/** Whether a state `live()` read runs `template` (a pod template recorded by `live()` earlier). */
export function runsTemplate(state: TrafficState, template: Record<string, unknown>): boolean {
  return sameTemplate(state.template as PodTemplate | undefined, template as PodTemplate);
}

/** kubectl's equalIgnoreHash, with JSON's "absent equals empty" (what the API server stores). */
function sameTemplate(a: PodTemplate | undefined, b: PodTemplate | undefined): boolean {
  const strip = (template: PodTemplate | undefined) => {
    const copy = structuredClone(template ?? {});
    if (copy.metadata?.labels) delete copy.metadata.labels[TEMPLATE_HASH];
    return canonical(copy);
  };
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

/** Sorted keys, without null, empty objects and empty arrays (Go's omitempty drops them on the wire). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.length ? value.map((item) => canonical(item) ?? null) : undefined;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((key) => [key, canonical((value as Json)[key])] as const)
      .filter(([, item]) => item !== undefined);
    return entries.length ? Object.fromEntries(entries) : undefined;
  }
  return value === null ? undefined : value;
}
