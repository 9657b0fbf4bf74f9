/**
 * bench:slack's Flightdeck process: the production wiring with production presenter settings
 * (../support/bot.ts). It answers one question over IPC: has the presenter sent everything it has to send
 * (`presenter.idle()`), so the orchestrator reads Slack's final state only once there is nothing left.
 */
import { bot } from '../support/bot.js';
import type { IdleCommand, IdleReply } from './protocol.js';

process.on('message', (command: IdleCommand) => {
  if (command?.type !== 'idle') return;
  const asked = Date.now();
  void bot.context.presenter
    .idle()
    .then(() => process.send?.({ type: 'idle', waitedMs: Date.now() - asked } satisfies IdleReply));
});
