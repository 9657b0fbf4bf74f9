/**
 * What bench:checks's processes say to each other over their IPC channels, beyond what every benchmark
 * says (../support/protocol.ts).
 */

/** One check item of one deployment. */
export interface CheckTarget {
  deploymentId: string;
  itemId: string;
}

/** To the Flightdeck process (flightdeck.ts): commands it applies through its own DeploymentService. */
export type DriveCommand =
  | {
      type: 'drive';
      action: 'open-phases';
      /** Resolve this manual item of every deployment at once (each resolution opens the next phase). */
      deploymentIds: string[];
      itemId: string;
      actor: string;
    }
  | {
      type: 'drive';
      action: 'rerun';
      /** Re-run these checks, one every 1/ratePerSecond s from the start (open loop), each once. */
      targets: CheckTarget[];
      ratePerSecond: number;
      actor: string;
    };

export interface DriveReply {
  type: 'drive';
  /** Commands issued, and those the engine refused (with a few of its messages). */
  sent: number;
  refused: number;
  refusals: string[];
  /** Date.now() when the first command was due; in the open loop, command i was due i/rate s later. */
  startedAt: number;
  /** From the first command's due time until every command had been applied. */
  durationMs: number;
  /** Open loop: the worst delay between a command's due time and its issue (the process's own lag). */
  maxLagMs: number;
}

/** To the raw BullMQ process (raw-bullmq.ts). */
export type RawCommand =
  | { type: 'raw'; action: 'burst'; groups: number; perGroup: number }
  | { type: 'raw'; action: 'open'; ratePerSecond: number; durationMs: number };

export interface RawReply {
  type: 'raw';
  jobs: number;
  /** Jobs the worker failed (a no-op should fail none). */
  failed: number;
  /** Per job: enqueue (job.timestamp) and completion (job.finishedOn), Date.now() ms. */
  firstEnqueuedAt: number;
  lastEnqueuedAt: number;
  lastFinishedAt: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  /** Open loop: the worst delay between an add's due time and its issue. */
  maxLagMs: number;
}
