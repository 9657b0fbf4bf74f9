import type { PagingConfig } from '../config/schema.js';
import type { DeliveryOptions } from './deliver.js';
import { NoPager } from './none.js';
import { PagerDutyPager } from './pagerduty.js';
import { WebhookPager } from './webhook.js';

/**
 * Where escalation pages go: one Pager per provider (pagerduty.ts, webhook.ts), chosen from flightdeck.yaml
 * `paging:`, and NoPager (none.ts) when it names none. One incident per escalation chain (the dedup key),
 * triggered at each paging level, acknowledged when someone takes it in Slack, resolved when its cause
 * goes away.
 */

export type PageAction = 'trigger' | 'acknowledge' | 'resolve';

export interface Page {
  action: PageAction;
  /** The same for every page about one escalation chain. */
  dedupKey: string;
  summary: string;
  /** Where it is happening, e.g. "checkout (production)". */
  source: string;
  severity: 'critical' | 'error' | 'warning' | 'info';
  details: Record<string, unknown>;
  link?: { href: string; text: string };
}

export interface Pager {
  /** False for NoPager: nothing to send pages to, so none are queued. */
  readonly pages: boolean;
  send(page: Page): Promise<void>;
}

export { PagerError } from './deliver.js';

export function createPager(
  config: PagingConfig | undefined,
  env: NodeJS.ProcessEnv = process.env,
  options: DeliveryOptions = {},
): Pager {
  if (!config) return new NoPager();
  if (config.type === 'pagerduty') return new PagerDutyPager(config, env, options);
  return new WebhookPager(config, env, options);
}
