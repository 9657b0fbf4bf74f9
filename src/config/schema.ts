import { z } from 'zod';
import { ANYONE } from '../checklists/owners.js';
import { escalationPolicySchema, idSchema, roleNameSchema } from '../checklists/schema.js';
import { trafficConfigSchema } from '../traffic/config.js';

/**
 * flightdeck.yaml: the service catalogue and the roles. Environment variables are in env.ts.
 */

const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'a Slack user ID looks like U0123ABCD');
const slackGroupId = z.string().regex(/^S[A-Z0-9]{2,}$/, 'a Slack user-group ID looks like S0123ABCD');
const slackChannelId = z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'a Slack channel ID looks like C0123ABCD');

export const roleSchema = z
  .object({
    description: z.string().optional(),
    users: z.array(slackUserId).default([]),
    groups: z.array(slackGroupId).default([]),
  })
  .strict()
  .refine((role) => role.users.length + role.groups.length > 0, 'a role needs at least one user or group');
export type RoleConfig = z.infer<typeof roleSchema>;

const NAME_DEPLOYERS = `name the roles that may deploy this service (e.g. [deployer]), or [${ANYONE}] to let everyone`;

export const serviceSchema = z
  .object({
    environment: z.string().min(1).max(40).default('production'),
    /** The checklist `/deploy start` uses when none is named. */
    checklist: idSchema,
    /** Other checklists this service may be started with (`/deploy start svc 1.2 <checklist>`). */
    checklists: z.array(idSchema).default([]),
    /** Where the status card and thread go. */
    channel: slackChannelId,
    namespace: z.string().min(1).max(63).default('default'),
    /** Kubernetes object names and selectors the checklist can refer to as {{kubernetes.<name>}}. */
    kubernetes: z.record(z.string(), z.string()).default({}),
    prometheus_url: z.url().optional(),
    health_url: z.url().optional(),
    base_url: z.url().optional(),
    /** Shown on the status card; available as {{links.<name>}}. */
    links: z.record(z.string(), z.url()).default({}),
    /** Where `dry-run-apply` checks find manifests (relative to flightdeck.yaml). */
    manifests_dir: z.string().min(1).optional(),
    /** Free-form values available as {{vars.<name>}}. */
    vars: z.record(z.string(), z.string()).default({}),
    /**
     * Roles allowed to start, pause, abort, shift traffic and roll back (the requester of a deployment may
     * too), and who own items without an `owner`. Required: `[anyone]` opens it to everyone, explicitly.
     */
    deployers: z
      .array(roleNameSchema, {
        error: (issue) => (issue.input === undefined ? NAME_DEPLOYERS : undefined),
      })
      .min(1, NAME_DEPLOYERS),
    /** How traffic moves and rolls back (blue-green, canary, rolling). Without it those steps are manual. */
    traffic: trafficConfigSchema.optional(),
  })
  .strict();
export type ServiceConfig = z.infer<typeof serviceSchema>;

/**
 * Paging: PagerDuty's Events API v2 (the routing key read from an environment variable, never written
 * in this file), or a generic JSON webhook.
 */
export const pagingSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('pagerduty'),
      /** Environment variable holding the integration's routing key. */
      routing_key_env: z
        .string()
        .regex(/^[A-Z_][A-Z0-9_]*$/)
        .default('PAGERDUTY_ROUTING_KEY'),
      url: z.url().default('https://events.pagerduty.com/v2/enqueue'),
    })
    .strict(),
  z
    .object({
      type: z.literal('webhook'),
      url: z.url(),
      /** Extra headers (e.g. an Authorization token read from the environment with `${VAR}`). */
      headers: z.record(z.string(), z.string()).default({}),
    })
    .strict(),
]);
export type PagingConfig = z.infer<typeof pagingSchema>;

const FOLD_WHEN = 'a whole number of posts (0: always fold), or never';

export const fileConfigSchema = z
  .object({
    /** Directory of checklist YAML files, relative to flightdeck.yaml. */
    checklists_dir: z.string().default('checklists'),
    /** Multiplies every watch window (1 in production; e.g. 0.01 for a demo where 10 minutes take 6 s). */
    time_scale: z.number().positive().max(1).default(1),
    /**
     * A deployment started while its channel has this many posts waiting (about as many seconds of Slack's
     * one post a second) shows its phases in its status card instead of a message each; `never` keeps
     * every thread a message per phase.
     */
    fold_when_posts_waiting: z
      .union([z.number().int({ error: FOLD_WHEN }).min(0, { error: FOLD_WHEN }), z.literal('never')], {
        error: FOLD_WHEN,
      })
      .default(8),
    services: z.record(idSchema, serviceSchema),
    /** The escalation chain for checklists that name none. */
    escalation: escalationPolicySchema.default({
      levels: [
        { after: 600_000, notify: 'owner', page: false },
        { after: 1_200_000, notify: 'on-call', page: true },
      ],
    }),
    /** Where escalation levels with `page: true` send pages. */
    paging: pagingSchema.optional(),
    roles: z
      .record(roleNameSchema, roleSchema)
      .default({})
      .refine(
        (roles) => !(ANYONE in roles),
        `"${ANYONE}" is reserved: it means everyone (owner: ${ANYONE}, deployers: [${ANYONE}])`,
      ),
  })
  .strict();
export type FileConfig = z.infer<typeof fileConfigSchema>;
