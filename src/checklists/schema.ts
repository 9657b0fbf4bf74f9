import { z } from 'zod';
import { durationSchema } from '../shared/duration.js';

/**
 * The checklist YAML format: a runbook as code. Phases hold items; each item has a kind that says who
 * or what resolves it. Everything here is plain data; the engine and the workers give it behaviour.
 */

/** Stable identifiers used in Redis keys, Slack block_ids and button values: short, no spaces, no ':'. */
export const idSchema = z
  .string()
  .min(1)
  .max(80)
  .regex(
    /^[a-z0-9][a-z0-9._-]*$/,
    'use lower-case letters, digits, ".", "_" or "-" (and start with a letter or digit)',
  );

/** A role name from flightdeck.yaml `roles:` (e.g. tech-lead, on-call). */
export const roleNameSchema = z
  .string()
  .min(1)
  .max(60)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'role names are lower-case words joined by "-" or "_"');

const titleSchema = z.string().trim().min(1).max(300);
const comparatorSchema = z.enum(['<', '<=', '>', '>=', '==', '!=']);
export type Comparator = z.infer<typeof comparatorSchema>;

/** How a measured number is shown: ratios as percentages, seconds as ms when small. */
export const unitSchema = z.enum(['ratio', 'percent', 'seconds', 'milliseconds', 'bytes', 'number']);
export type Unit = z.infer<typeof unitSchema>;

const common = {
  /** A short name for the measured value in messages, e.g. "error rate". */
  label: z.string().max(60).optional(),
  timeout: durationSchema.optional(),
  retries: z.number().int().min(0).max(10).optional(),
};

const statusExpectation = z.union([
  z.number().int().min(100).max(599),
  z.tuple([z.number().int().min(100).max(599), z.number().int().min(100).max(599)]),
  z.enum(['1xx', '2xx', '3xx', '4xx', '5xx']),
]);

export const httpCheckSchema = z
  .object({
    type: z.literal('http'),
    url: z.string().min(1),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'OPTIONS']).default('GET'),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.string().optional(),
    expect_status: statusExpectation.default('2xx'),
    body_contains: z.string().optional(),
    json_path: z
      .object({ path: z.string().min(1), equals: z.unknown() })
      .strict()
      .optional(),
    max_latency: durationSchema.optional(),
    ...common,
  })
  .strict();

export const prometheusCheckSchema = z
  .object({
    type: z.literal('prometheus'),
    query: z.string().min(1),
    comparator: comparatorSchema,
    threshold: z.number(),
    unit: unitSchema.default('number'),
    /** The condition must hold over this whole window (evaluated with query_range). */
    for: durationSchema.optional(),
    /** Prometheus base URL; defaults to the service's `prometheus_url`. */
    url: z.string().optional(),
    ...common,
  })
  .strict();

const k8sCommon = { namespace: z.string().optional(), ...common };

export const kubernetesCheckSchema = z.discriminatedUnion('check', [
  z
    .object({
      type: z.literal('kubernetes'),
      check: z.literal('pods-ready'),
      selector: z.string().min(1),
      ...k8sCommon,
    })
    .strict(),
  z
    .object({
      type: z.literal('kubernetes'),
      check: z.literal('rollout-complete'),
      deployment: z.string().min(1),
      ...k8sCommon,
    })
    .strict(),
  z.object({ type: z.literal('kubernetes'), check: z.literal('nodes-ready'), ...common }).strict(),
  z
    .object({
      type: z.literal('kubernetes'),
      check: z.literal('endpoints-ready'),
      service: z.string().min(1),
      ...k8sCommon,
    })
    .strict(),
  z
    .object({
      type: z.literal('kubernetes'),
      check: z.literal('exists'),
      api_version: z.string().min(1),
      kind: z.string().min(1),
      name: z.string().min(1),
      ...k8sCommon,
    })
    .strict(),
  z
    .object({
      type: z.literal('kubernetes'),
      check: z.literal('image'),
      /** The Deployment whose pod template must name the image (and be rolled out)… */
      deployment: z.string().min(1).optional(),
      /** …or the pods of this label selector, each of which must run it. */
      selector: z.string().min(1).optional(),
      /** Which container; default: any container whose image matches (sidecars run other images). */
      container: z.string().min(1).optional(),
      /** The tag (or digest, `sha256:…`) the image must have: by default the deployment's version. */
      expect: z.string().min(1).default('{{version}}'),
      ...k8sCommon,
    })
    .strict()
    .refine(
      (spec) => (spec.deployment === undefined) !== (spec.selector === undefined),
      'name either `deployment` or `selector` (one of them)',
    ),
  z
    .object({
      type: z.literal('kubernetes'),
      check: z.literal('dry-run-apply'),
      /** Manifest files or directories, relative to the service's `manifests_dir`. */
      manifests: z.array(z.string().min(1)).min(1),
      ...k8sCommon,
    })
    .strict(),
]);

export const tlsCheckSchema = z
  .object({
    type: z.literal('tls'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(443),
    servername: z.string().optional(),
    min_days: z.number().int().min(0).default(14),
    /** PEM file of extra trusted CAs (an internal CA); the system's CAs are always trusted. */
    ca_file: z.string().optional(),
    ...common,
  })
  .strict();

export const dnsCheckSchema = z
  .object({
    type: z.literal('dns'),
    name: z.string().min(1),
    record: z.enum(['A', 'AAAA', 'CNAME', 'TXT', 'ANY']).default('ANY'),
    expect: z.array(z.string()).optional(),
    ...common,
  })
  .strict();

export const tcpCheckSchema = z
  .object({
    type: z.literal('tcp'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    ...common,
  })
  .strict();

/**
 * Every automatable check. Plain `z.union` (not discriminated) because the Kubernetes member is itself a
 * union keyed on `check`; zod reports the closest member's issues either way.
 */
export const checkSpecSchema = z.union([
  httpCheckSchema,
  prometheusCheckSchema,
  kubernetesCheckSchema,
  tlsCheckSchema,
  dnsCheckSchema,
  tcpCheckSchema,
]);
export type CheckSpec = z.infer<typeof checkSpecSchema>;

const itemBase = {
  id: idSchema,
  title: titleSchema,
  /**
   * Only members of this role may resolve the item (others get a private denial). Without it the item
   * belongs to the service's deployers (the requester included); `anyone` opens it to everyone.
   */
  owner: roleNameSchema.optional(),
  required: z.boolean().default(true),
  /** Prose from the runbook, shown on demand. */
  notes: z.string().max(2_500).optional(),
  /** Commands from the runbook (code fences or inline code), shown on demand, never executed. */
  commands: z.array(z.string().max(2_500)).max(20).optional(),
};

export const itemSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('manual'), ...itemBase }).strict(),
  z.object({ kind: z.literal('check'), ...itemBase, check: checkSpecSchema }).strict(),
  z
    .object({
      kind: z.literal('signoff'),
      ...itemBase,
      signoff: z
        .object({
          role: roleNameSchema,
          count: z.number().int().min(1).max(10).default(1),
          /**
           * A role that may waive the sign-off (with a reason) instead of it being signed. Without it a
           * sign-off cannot be skipped or marked n/a at all. A waiver is never counted as a signature.
           */
          waivable_by: roleNameSchema.optional(),
        })
        .strict(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('traffic'),
      ...itemBase,
      traffic: z.union([
        z.object({ weight: z.number().int().min(0).max(100) }).strict(),
        z.object({ slot: z.enum(['blue', 'green']) }).strict(),
      ]),
    })
    .strict(),
  z
    .object({
      kind: z.literal('wait'),
      ...itemBase,
      wait: z
        .object({
          duration: durationSchema,
          /** Rollback triggers watched during the window (their ids); default all of the checklist's. */
          triggers: z.array(idSchema).optional(),
          /** The older name of `triggers`, still read; also the stored name (checklists kept in Redis). */
          guards: z.array(idSchema).optional().describe('The older name of `triggers`, still read.'),
        })
        .strict()
        .superRefine((wait, context) => {
          if (wait.triggers !== undefined && wait.guards !== undefined)
            context.addIssue({ code: 'custom', message: oneName('triggers', 'guards') });
        })
        .transform(({ triggers, ...wait }) =>
          triggers === undefined ? wait : { ...wait, guards: triggers },
        ),
    })
    .strict(),
]);
export type Item = z.infer<typeof itemSchema>;
export type ItemKind = Item['kind'];

export const phaseSchema = z
  .object({
    id: idSchema,
    title: titleSchema,
    notes: z.string().max(2_500).optional(),
    commands: z.array(z.string().max(2_500)).max(20).optional(),
    /** Post-deployment phases: opens this long after the deployment reaches full traffic. */
    after: durationSchema.optional(),
    /** Items must be resolved in order (e.g. canary steps: shift 5%, watch, shift 50%…). */
    sequential: z.boolean().default(false),
    /**
     * New code takes traffic once this phase opens (e.g. a rolling `kubectl apply`): the rollback
     * triggers start watching. Without it they start at the first traffic shift.
     */
    starts_triggers: z.boolean().optional(),
    /** The older name of `starts_triggers`, still read; also the stored name (checklists kept in Redis). */
    starts_guards: z.boolean().optional().describe('The older name of `starts_triggers`, still read.'),
    items: z.array(itemSchema).min(1),
  })
  .strict()
  .superRefine((phase, context) => {
    if (phase.starts_triggers !== undefined && phase.starts_guards !== undefined)
      context.addIssue({ code: 'custom', message: oneName('starts_triggers', 'starts_guards') });
  })
  .transform(({ starts_triggers, starts_guards, ...phase }) => ({
    ...phase,
    starts_guards: starts_triggers ?? starts_guards ?? false,
  }));

/** Both names of one setting given (the current one and the older one it replaced). */
function oneName(current: string, older: string): string {
  return `give \`${current}\` (its older name \`${older}\` is still read), not both`;
}
export type Phase = z.infer<typeof phaseSchema>;

export const triggerSchema = z
  .object({
    id: idSchema,
    title: titleSchema,
    condition: z.union([prometheusCheckSchema, httpCheckSchema]),
    /** The condition must hold this long before the trigger fires. */
    for: durationSchema,
    /** Roll back by itself when the trigger fires; otherwise escalate with a Roll back button. */
    auto: z.boolean().default(false),
  })
  .strict();
export type Trigger = z.infer<typeof triggerSchema>;

/**
 * An escalation chain: each level fires `after` this long (from when the wait began) and notifies a role —
 * `owner` meaning the owners of what is waiting — optionally paging through flightdeck.yaml's `paging:`.
 */
export const escalationPolicySchema = z
  .object({
    levels: z
      .array(
        z
          .object({
            after: durationSchema,
            notify: z.union([z.literal('owner'), roleNameSchema]),
            page: z.boolean().default(false),
          })
          .strict(),
      )
      .max(10),
  })
  .strict()
  .refine(
    (policy) =>
      policy.levels.every(
        (level, index) => index === 0 || level.after > (policy.levels[index - 1]?.after ?? 0),
      ),
    'each level must come after the one before it',
  );
export type EscalationPolicy = z.infer<typeof escalationPolicySchema>;

export const checklistSchema = z
  .object({
    id: idSchema,
    title: titleSchema,
    description: z.string().max(3_000).optional(),
    /** Where the runbook came from (e.g. the seed file it was imported from). */
    source: z.string().optional(),
    strategy: z.enum(['blue-green', 'canary', 'rolling']).optional(),
    /** The requester may not sign off their own deployment. */
    four_eyes: z.boolean().default(false),
    phases: z.array(phaseSchema).min(1),
    rollback: z
      .object({
        triggers: z.array(triggerSchema).default([]),
        /** How often the triggers are evaluated while new code takes traffic. */
        evaluate_every: durationSchema.default(30_000),
        /** Walked in the thread after a rollback. */
        phases: z.array(phaseSchema).default([]),
        /**
         * New code still takes all traffic after the last phase completes: the triggers keep watching this
         * long after completion (scaled by `time_scale`, like the watch windows), and one that fires then
         * rolls back as during the flow.
         */
        watch_after_completion: durationSchema.default(30 * 60_000),
      })
      .strict()
      .optional(),
    /** Reference procedures (emergencies, troubleshooting): shown on demand, never walked. */
    procedures: z.array(phaseSchema).default([]),
    /** Who hears about what nobody answered, and when (default: flightdeck.yaml `escalation:`). */
    escalation: escalationPolicySchema.optional(),
    report: z
      .object({
        /** Retrospective questions asked when the deployment ends. */
        questions: z.array(z.object({ id: idSchema, title: titleSchema }).strict()).default([]),
      })
      .strict()
      .optional(),
  })
  .strict();
export type Checklist = z.infer<typeof checklistSchema>;
/** The YAML as written, before defaults are applied. */
export type ChecklistInput = z.input<typeof checklistSchema>;
