/**
 * What every benchmark's processes say to each other over IPC, and the fake workspace's credentials.
 */

export const BOT_TOKEN = 'xoxb-bench-0000-flightdeck';
export const SIGNING_SECRET = 'bench-signing-secret-5d2e';

/** A child tells the orchestrator it is up (and where it listens, if it serves HTTP). */
export interface ReadyMessage {
  type: 'ready';
  port: number;
}

/** Brackets a measured run in a child; `profile` is where to write a CPU profile (optional). */
export interface ProbeCommand {
  type: 'probe';
  action: 'start' | 'stop';
  profile?: string;
}

export interface ProbeReply {
  type: 'probe';
  /** Event-loop delay while the run lasted: how long a ready callback waited (ms). */
  loopDelayP99Ms?: number;
  loopDelayMaxMs?: number;
  /** Garbage-collection pauses: total and longest (ms). */
  gcMs?: number;
  gcMaxMs?: number;
  error?: string;
}
