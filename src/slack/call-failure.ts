/**
 * What a failed Web API call means for what happened in Slack. The presenter's client neither retries
 * nor waits out 429s by itself (flightdeck.ts), so every failure arrives here as one of:
 *
 * - `rate-limited`: Slack refused it for now (HTTP 429); nothing happened, try again after `retryAfterMs`.
 * - `refused`: Slack answered `ok: false` (or a 4xx), or our own code failed before the call; nothing
 *   happened, and trying again at once will not help.
 * - `unknown`: no answer (5xx, connection closed, timeout): Slack may have carried it out. A post in this
 *   state is looked for in Slack before it is posted again.
 */

export type CallFailure =
  | { kind: 'rate-limited'; retryAfterMs: number }
  | { kind: 'refused'; error: string }
  | { kind: 'unknown'; reason: string };

interface WebApiError {
  code?: string;
  retryAfter?: number;
  statusCode?: number;
  data?: { error?: string };
  message?: string;
}

export function callFailure(thrown: unknown): CallFailure {
  const error = (thrown ?? {}) as WebApiError;
  switch (error.code) {
    case 'slack_webapi_rate_limited_error':
      return { kind: 'rate-limited', retryAfterMs: Math.max(1, error.retryAfter ?? 1) * 1_000 };
    case 'slack_webapi_platform_error':
      return { kind: 'refused', error: error.data?.error ?? 'unknown_error' };
    case 'slack_webapi_http_error':
      return (error.statusCode ?? 500) >= 500
        ? { kind: 'unknown', reason: `HTTP ${error.statusCode}` }
        : { kind: 'refused', error: `http_${error.statusCode}` };
    case 'slack_webapi_request_error':
      return { kind: 'unknown', reason: error.message ?? 'no answer' };
    default:
      // Not the client's: our own code failed (rendering, Redis) before anything reached Slack.
      return { kind: 'refused', error: 'internal_error' };
  }
}
