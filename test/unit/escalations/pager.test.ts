import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pagingSchema } from '../../../src/config/schema.js';
import { NoPager } from '../../../src/escalations/none.js';
import { createPager, type Page, PagerError } from '../../../src/escalations/pager.js';
import { PagerDutyPager } from '../../../src/escalations/pagerduty.js';
import { WebhookPager } from '../../../src/escalations/webhook.js';

/** One Pager per provider, chosen by createPager from flightdeck.yaml `paging:`; NoPager without it. */

const page: Page = {
  action: 'trigger',
  dedupKey: 'flightdeck/d1/phase:deploy/1',
  summary: 'checkout 1.2.3: “Deploy” waits for 1 step',
  source: 'checkout (production)',
  severity: 'error',
  details: { deployment: 'd1' },
};

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

let server: Server;
let base: string;
let received: Received[];
/** What the receiver answers next, in order; then 202. */
let answers: number[];

beforeAll(async () => {
  server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk) => {
      raw += chunk;
    });
    request.on('end', () => {
      received.push({ path: request.url ?? '', headers: request.headers, body: JSON.parse(raw || '{}') });
      response.statusCode = answers.shift() ?? 202;
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received = [];
  answers = [];
});

describe('createPager', () => {
  it('gives a NoPager when flightdeck.yaml names no paging: it pages nothing and sends nowhere', async () => {
    const pager = createPager(undefined);
    expect(pager).toBeInstanceOf(NoPager);
    expect(pager.pages).toBe(false);
    await pager.send(page);
    expect(received).toEqual([]);
  });

  it('picks the provider the config names', () => {
    const pagerduty = createPager(pagingSchema.parse({ type: 'pagerduty' }), {});
    const webhook = createPager(pagingSchema.parse({ type: 'webhook', url: `${base}/hook` }), {});
    expect(pagerduty).toBeInstanceOf(PagerDutyPager);
    expect(webhook).toBeInstanceOf(WebhookPager);
    expect([pagerduty.pages, webhook.pages]).toEqual([true, true]);
  });
});

describe('PagerDutyPager', () => {
  const config = pagingSchema.parse({ type: 'pagerduty', routing_key_env: 'PD_KEY', url: `http://x/pd` });

  it('sends an Events API v2 trigger with the routing key from the environment', async () => {
    const pager = createPager({ ...config, url: `${base}/pd` }, { PD_KEY: 'routing-key' });
    await pager.send(page);
    expect(received).toMatchObject([
      {
        path: '/pd',
        body: {
          routing_key: 'routing-key',
          event_action: 'trigger',
          dedup_key: page.dedupKey,
          payload: { summary: page.summary, source: page.source, severity: 'error', component: 'flightdeck' },
        },
      },
    ]);
  });

  it('refuses without a routing key, and says which variable is missing', async () => {
    await expect(createPager({ ...config, url: `${base}/pd` }, {}).send(page)).rejects.toThrow(
      'no PagerDuty routing key: PD_KEY is not set',
    );
    expect(received).toEqual([]);
  });

  it('retries a 5xx, and does not retry a refusal (4xx)', async () => {
    const pager = createPager(
      { ...config, url: `${base}/pd` },
      { PD_KEY: 'k' },
      { retries: 2, backoffMs: 5 },
    );
    answers = [500, 503];
    await pager.send(page);
    expect(received).toHaveLength(3);
    received = [];
    answers = [400];
    await expect(pager.send(page)).rejects.toSatisfy(
      (error) => error instanceof PagerError && error.code === 'pager_refused' && error.area === 'pager',
    );
    expect(received).toHaveLength(1);
    // Still failing after the retries: unreachable, a code of its own.
    received = [];
    answers = [502, 502, 502];
    await expect(pager.send(page)).rejects.toMatchObject({
      code: 'pager_unreachable',
      message: 'page failed: HTTP 502',
    });
    expect(received).toHaveLength(3);
  });

  it('says the routing key is missing as a configuration problem, without calling PagerDuty', async () => {
    const pager = createPager({ ...config, url: `${base}/pd` }, {});
    received = [];
    await expect(pager.send(page)).rejects.toMatchObject({
      code: 'pager_misconfigured',
      message: 'no PagerDuty routing key: PD_KEY is not set',
    });
    expect(received).toHaveLength(0);
  });
});

describe('WebhookPager', () => {
  it('posts the page as JSON with headers read from the environment', async () => {
    const pager = createPager(
      pagingSchema.parse({
        type: 'webhook',
        url: `${base}/hook`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${VAR} syntax
        headers: { Authorization: 'Bearer ${HOOK_TOKEN}' },
      }),
      { HOOK_TOKEN: 'secret' },
    );
    await pager.send({ ...page, action: 'resolve' });
    expect(received).toMatchObject([
      {
        path: '/hook',
        headers: { authorization: 'Bearer secret' },
        body: { event: 'resolve', dedup_key: page.dedupKey, summary: page.summary, severity: 'error' },
      },
    ]);
  });
});
