/** What bench:slack's orchestrator and its Flightdeck process (flightdeck.ts) say over IPC. */

export interface IdleCommand {
  type: 'idle';
}

export interface IdleReply {
  type: 'idle';
  /** How long the presenter still had things to send. */
  waitedMs: number;
}
