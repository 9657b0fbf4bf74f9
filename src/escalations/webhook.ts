import type { PagingConfig } from '../config/schema.js';
import { type DeliveryOptions, postPage } from './deliver.js';
import type { Page, Pager } from './pager.js';

/** A generic JSON webhook; `${VAR}` in its headers is read from the environment (e.g. a token). */
export class WebhookPager implements Pager {
  readonly pages = true;

  constructor(
    private readonly config: Extract<PagingConfig, { type: 'webhook' }>,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly options: DeliveryOptions = {},
  ) {}

  async send(page: Page): Promise<void> {
    const headers = Object.fromEntries(
      Object.entries(this.config.headers).map(([name, value]) => [
        name,
        value.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_, variable: string) => this.env[variable] ?? ''),
      ]),
    );
    await postPage(
      this.config.url,
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
      this.options,
    );
  }
}
