import type { PagingConfig } from '../config/schema.js';
import { type DeliveryOptions, PagerError, postPage } from './deliver.js';
import type { Page, Pager } from './pager.js';

/** PagerDuty's Events API v2; the routing key is read from the environment variable the config names. */
export class PagerDutyPager implements Pager {
  readonly pages = true;

  constructor(
    private readonly config: Extract<PagingConfig, { type: 'pagerduty' }>,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly options: DeliveryOptions = {},
  ) {}

  async send(page: Page): Promise<void> {
    const routingKey = this.env[this.config.routing_key_env];
    if (!routingKey)
      throw new PagerError(
        'pager_misconfigured',
        `no PagerDuty routing key: ${this.config.routing_key_env} is not set`,
      );
    const body: Record<string, unknown> = {
      routing_key: routingKey,
      event_action: page.action,
      dedup_key: page.dedupKey,
    };
    if (page.action === 'trigger') {
      body.payload = {
        summary: page.summary.slice(0, 1024),
        source: page.source,
        severity: page.severity,
        component: 'flightdeck',
        custom_details: page.details,
      };
      if (page.link) body.links = [page.link];
    }
    await postPage(this.config.url, body, { 'Content-Type': 'application/json' }, this.options);
  }
}
