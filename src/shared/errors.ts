/**
 * Coded errors, in the spirit of @slack/bolt's errors.ts: every failure we expect (and so log, count and
 * tell people about) carries a stable `code`, and the logger's error serializer puts it in the log line, so
 * logs and metrics group by code rather than by message text.
 *
 * A new kind of failure: add its codes below under its area, then subclass CodedError with those codes
 * (`class PagerError extends CodedError<CodesOf<'pager'>>`). Never rename a code: traffic codes are
 * stored in deployment events and shown in threads, and dashboards filter on all of them.
 */

/** Which part of Flightdeck a coded error comes from; the log line carries it beside the code. */
export type ErrorArea = 'traffic' | 'startup' | 'pager';

/**
 * Every code, with its area. The codes are the keys, so the compiler refuses the same code twice (an object
 * literal cannot name a property twice): a code means one thing across the whole bot.
 */
export const ERROR_CODES = {
  // src/traffic (TrafficError). Bare names for history: they were the traffic layer's own codes first.
  forbidden: 'traffic',
  not_found: 'traffic',
  conflict: 'traffic',
  invalid: 'traffic',
  mismatch: 'traffic',
  timeout: 'traffic',
  unavailable: 'traffic',
  aborted: 'traffic',
  unknown: 'traffic',

  // Start-up (StartupError): the process cannot run and exits non-zero with the message.
  redis_unreachable: 'startup',

  // Paging (PagerError, src/escalations/deliver.ts): the service refused the page
  // (4xx), did not answer after the retries, or the page could not be sent as configured (no routing key).
  pager_refused: 'pager',
  pager_unreachable: 'pager',
  pager_misconfigured: 'pager',
} as const satisfies Record<string, ErrorArea>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes of one area, e.g. `CodesOf<'pager'>` for a PagerError's `code`. */
export type CodesOf<Area extends ErrorArea> = {
  [Code in ErrorCode]: (typeof ERROR_CODES)[Code] extends Area ? Code : never;
}[ErrorCode];

/** The base of every coded error. `cause` is the lower-level error, when there is one. */
export class CodedError<Code extends ErrorCode = ErrorCode> extends Error {
  override readonly name: string = 'CodedError';
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  get area(): ErrorArea {
    return ERROR_CODES[this.code];
  }
}

/** Flightdeck cannot start (Redis unreachable at start, …): the caller prints the message and exits 1. */
export class StartupError extends CodedError<CodesOf<'startup'>> {
  override readonly name = 'StartupError';
}
