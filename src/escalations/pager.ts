import axios from 'axios';
import type { PagingConfig } from '../config/schema.js';

/**
 * Pages through PagerDuty's Events API v2 or a generic JSON webhook. One incident per escalation chain
 * (the dedup key), triggered at each paging level, acknowledged when someone takes it in Slack, resolved
 * when its cause goes away. Transient failures (network, 429, 5xx) are retried with backoff; a refusal
 * (other 4xx) is not, and says why.
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
  send(page: Page): Promise<void>;
}

export class PageRefused extends Error {}

export function createPager(
  config: PagingConfig,
  env: NodeJS.ProcessEnv = process.env,
  options: { retries?: number; backoffMs?: number } = {},
): Pager {
  const retries = options.retries ?? 3;
  const backoffMs = options.backoffMs ?? 500;
  const post = async (url: string, body: unknown, headers: Record<string, string>) => {
    for (let attempt = 0; ; attempt++) {
      const response = await axios
        .post(url, body, { headers, timeout: 10_000, validateStatus: () => true })
        .catch((error: Error) => ({ status: 0, data: error.message }));
      if (response.status >= 200 && response.status < 300) return;
      const transient = response.status === 0 || response.status === 429 || response.status >= 500;
      if (!transient || attempt >= retries) {
        const what =
          response.status === 0 ? `no answer (${String(response.data)})` : `HTTP ${response.status}`;
        throw new PageRefused(`page ${transient ? 'failed' : 'refused'}: ${what}`);
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** attempt));
    }
  };

  if (config.type === 'pagerduty') {
    return {
      async send(page) {
        const routingKey = env[config.routing_key_env];
        if (!routingKey)
          throw new PageRefused(`no PagerDuty routing key: ${config.routing_key_env} is not set`);
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
        await post(config.url, body, { 'Content-Type': 'application/json' });
      },
    };
  }
  return {
    async send(page) {
      const headers = Object.fromEntries(
        Object.entries(config.headers).map(([name, value]) => [
          name,
          value.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_, variable: string) => env[variable] ?? ''),
        ]),
      );
      await post(
        config.url,
        {
          event: page.action,
          dedup_key: page.dedupKey,
          summary: page.summary,
          source: page.source,
          severity: page.severity,
          details: page.details,
          link: page.link?.href,
        },
        { 'Content-Type': 'application/json', ...headers },
      );
    },
  };
}
