import { type DestinationStream, type Logger, pino } from 'pino';
import { CodedError } from '../shared/errors.js';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear in a log line: tokens, secrets, passwords and auth headers.
 * Tested in test/unit/observability/logger.test.ts, so adding a field here is enough to keep it out.
 */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'appToken',
  '*.appToken',
  'signingSecret',
  '*.signingSecret',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers.Authorization',
  '*.headers.Authorization',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  '*.SLACK_BOT_TOKEN',
  '*.SLACK_SIGNING_SECRET',
  '*.SLACK_APP_TOKEN',
  'routing_key',
  '*.routing_key',
];

/** Slack token shapes, scrubbed from free-text messages too (e.g. inside an error string). */
const TOKEN_RE = /\b(xox[abposr]|xapp)-[A-Za-z0-9-]+/g;

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { app: 'flightdeck' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((arg) =>
            typeof arg === 'string' ? arg.replace(TOKEN_RE, '$1-[redacted]') : arg,
          );
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
      serializers: { err: serializeError },
    },
    options.destination,
  );
}

/**
 * Errors as context, not stack soup: message, the error's code (ours — a CodedError, with its area — or
 * Slack's, Kubernetes', Node's), and the first stack line. Logs and metrics group by `code`.
 */
export function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) {
    // Already serialized (callers may serialize before pino's serializer runs): pass it through.
    return typeof error === 'object' && error !== null
      ? (error as Record<string, unknown>)
      : { message: String(error) };
  }
  const extra = error as Error & { code?: unknown; data?: { error?: unknown } };
  return {
    type: error.name,
    message: error.message.replace(TOKEN_RE, '$1-[redacted]'),
    ...(extra.code !== undefined ? { code: extra.code } : {}),
    ...(error instanceof CodedError ? { area: error.area } : {}),
    ...(extra.data?.error !== undefined ? { slackError: extra.data.error } : {}),
    at: error.stack?.split('\n')[1]?.trim(),
  };
}
