/**
 * What bench:ack's processes say to each other over their IPC channels, beyond what every benchmark says
 * (../support/protocol.ts), and the constants they share.
 */

/** The button every click presses: "✓ Done" on a checklist item. */
export const CLICK_ACTION_ID = 'item.done';

/**
 * Clicks as the orchestrator hands them to the load process. A block_actions body is
 * `payload=` + urlencode(JSON); the JSON of the message the button sits on is shared by every item on it,
 * so each click stores its own fields (`head`, already encoded, ending in `,"message":`) and points at the
 * encoded message JSON. The load process joins them into the exact body as it sends.
 */
export interface ClickFile {
  messages: string[];
  clicks: Array<{ head: string; message: number }>;
}

/** A body is PAYLOAD_PREFIX + head + message + PAYLOAD_SUFFIX (the JSON's closing brace, encoded). */
export const PAYLOAD_PREFIX = 'payload=';
export const PAYLOAD_SUFFIX = encodeURIComponent('}');

export type LoadCommand =
  | {
      type: 'open';
      /** First click to send (index into the click file). */
      from: number;
      ratePerSecond: number;
      durationMs: number;
    }
  | {
      type: 'closed';
      from: number;
      /** Clicks available from `from`; the run stops early if they run out (unless `cycle`). */
      available: number;
      concurrency: number;
      durationMs: number;
      /** Reuse the available clicks round and round (the baseline does not care whether a click repeats). */
      cycle: boolean;
    }
  | { type: 'exit' };

export interface LoadResult {
  type: 'result';
  mode: 'open' | 'closed';
  /** Requests sent (every one of them must become a state change in the bot). */
  sent: number;
  /** Answered 200. */
  ok: number;
  /** Non-200 answers and transport errors, with a few examples. */
  errors: number;
  errorSamples: string[];
  /** Answered after Slack's 3 s limit. */
  late: number;
  /** Latency in ms: open loop from the scheduled send time, closed loop from the actual send. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** Closed loop: answers to clicks sent in the window and received by its end, per second of the window. */
  perSecond: number;
  /** How long the measuring window really lasted (shorter when the clicks ran out). */
  windowMs: number;
  ranOut: boolean;
  /** Open loop: how late the load process itself sent, worst case (its own scheduling lag). */
  maxSendLagMs: number;
  /** The load process's longest event-loop stall during the run (ms). */
  loopDelayMaxMs: number;
  /** When the run started and when its last answer arrived (Date.now()). */
  startedAt: number;
  finishedAt: number;
  /** Closed loop: how long until every worker had its first answer (the window starts then), and the
   * slowest answer in that ramp-up (ms). */
  rampMs: number;
  rampMaxMs: number;
  /** Connections the run opened, and the slowest TCP connect among them (ms). */
  connections: number;
  maxConnectMs: number;
  /** The slowest answers: when they were sent (ms into the run) and how long they took. */
  slowest: Array<{ atMs: number; latencyMs: number }>;
}
