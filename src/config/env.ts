import { z } from 'zod';

/**
 * Environment variables. Slack credentials are optional here; whether they are enough is decided in
 * load.ts, so that missing credentials can be reported in one friendly message.
 */
export const envSchema = z.object({
  SLACK_BOT_TOKEN: z
    .string()
    .regex(/^xoxb-/, 'a bot token starts with "xoxb-" (OAuth & Permissions → Bot User OAuth Token)')
    .optional(),
  SLACK_SIGNING_SECRET: z.string().min(8, 'looks too short for a signing secret').optional(),
  SLACK_APP_TOKEN: z
    .string()
    .regex(/^xapp-/, 'an app-level token starts with "xapp-" (Basic Information → App-Level Tokens)')
    .optional(),
  /** Base URL of the Slack Web API; tests and the sandbox point it at a local fake. Must end with "/". */
  SLACK_API_URL: z
    .url()
    .transform((url) => (url.endsWith('/') ? url : `${url}/`))
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'use redis://host:port or rediss://host:port')
    .default('redis://127.0.0.1:6379'),
  /**
   * Redis Sentinel: `host:port,host:port,…` of the sentinels, and the master's name. With them the
   * connections find the master through the sentinels and follow a failover; REDIS_URL then gives only the
   * password, user, database and TLS (its host is not used).
   */
  REDIS_SENTINELS: z
    .string()
    .regex(/^[^,:\s]+:\d+(,[^,:\s]+:\d+)*$/, 'sentinels as host:port,host:port')
    .optional(),
  REDIS_MASTER_NAME: z.string().min(1).optional(),
  /** Key prefix in Redis, so several installations can share one server. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only')
    .default('fd'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  FLIGHTDECK_CONFIG: z.string().min(1).default('./flightdeck.yaml'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Checks a worker process runs at once. They wait on the network (a Prometheus query, a slow health
   * endpoint, a timeout against a dead host), so many more than cores: with few slots, one phase of
   * checks against an unreachable host would hold every other deployment's checks back. */
  CHECK_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(64),
  /** A dead worker's check is picked up by another after about this long. */
  CHECK_LOCK_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
  /** `false`: this bot process serves Slack only and leaves checks to `npm run worker` processes. */
  RUN_WORKERS: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default('true')
    .transform((value) => ['true', '1', 'yes'].includes(value)),
});
export type Env = z.infer<typeof envSchema>;

/** Only the variables we know; empty strings count as unset (docker-compose passes `VAR=` through). */
export function pickEnv(source: NodeJS.ProcessEnv): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = source[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  return picked;
}
