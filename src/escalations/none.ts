import type { Page, Pager } from './pager.js';

/** flightdeck.yaml names no `paging:`: escalations stay in Slack, and no page is queued or sent. */
export class NoPager implements Pager {
  readonly pages = false;

  async send(_page: Page): Promise<void> {}
}
