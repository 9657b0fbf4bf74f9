import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { httpCheckSchema } from '../../../src/checklists/schema.js';
import { httpCheck } from '../../../src/checks/http.js';
import type { CheckContext } from '../../../src/checks/types.js';
import { freePort } from '../../../src/sandbox/infra/redis-server.js';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

let server: Server;
let base: string;
let handler: Handler;
const open = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((request, response) => {
    open.add(response);
    response.on('close', () => open.delete(response));
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  handler = (_request, response) => response.end('ok');
});

function context(signal = AbortSignal.timeout(5_000)): CheckContext {
  return { signal, namespace: 'default', now: () => Date.now() };
}

/** Runs the check on a spec written as in the checklist YAML (defaults and durations applied). */
function run(spec: Record<string, unknown>, signal?: AbortSignal) {
  return httpCheck(httpCheckSchema.parse({ type: 'http', ...spec }), context(signal));
}

function json(status: number, value: unknown): Handler {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(value));
  };
}

describe('httpCheck', () => {
  it('passes on a 200 and reports status and latency', async () => {
    const result = await run({ url: `${base}/health` });
    expect(result.outcome).toBe('passed');
    expect(result.summary).toMatch(/^HTTP 200 in \d+ ms$/);
    expect(result.unit).toBe('milliseconds');
    expect(result.value).toBeGreaterThanOrEqual(0);
  });

  it('sends the method, headers and body of the spec', async () => {
    let seen: { method?: string; auth?: string; body: string } = { body: '' };
    handler = (request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        seen = { method: request.method, auth: request.headers.authorization, body };
        response.writeHead(201).end();
      });
    };
    const result = await run({
      url: `${base}/jobs`,
      method: 'POST',
      headers: { Authorization: 'Bearer t0ken', 'Content-Type': 'application/json' },
      body: '{"dry_run":true}',
    });
    expect(result.outcome).toBe('passed');
    expect(seen).toEqual({ method: 'POST', auth: 'Bearer t0ken', body: '{"dry_run":true}' });
  });

  it('calls an unexpected 503 an error: the service could not answer', async () => {
    handler = json(503, { status: 'down' });
    const result = await run({ url: `${base}/health` });
    expect(result.outcome).toBe('error');
    expect(result.summary).toMatch(/^HTTP 503 \(expected 2xx\) in \d+ ms$/);
    expect(result.detail).toContain('down');
  });

  it('fails a 404 when 2xx was expected, passes it when 404 was expected', async () => {
    handler = (_request, response) => response.writeHead(404).end('no such page');
    const wrong = await run({ url: `${base}/gone` });
    expect(wrong.outcome).toBe('failed');
    expect(wrong.summary).toMatch(/^HTTP 404 \(expected 2xx\) in \d+ ms$/);

    expect((await run({ url: `${base}/gone`, expect_status: 404 })).outcome).toBe('passed');
    expect((await run({ url: `${base}/gone`, expect_status: [400, 499] })).outcome).toBe('passed');
    expect((await run({ url: `${base}/gone`, expect_status: '4xx' })).outcome).toBe('passed');
  });

  it('judges a 5xx the spec asked for like any other status', async () => {
    handler = (_request, response) => response.writeHead(500).end();
    expect((await run({ url: `${base}/maintenance`, expect_status: 503 })).outcome).toBe('failed');
    handler = (_request, response) => response.writeHead(503).end();
    expect((await run({ url: `${base}/maintenance`, expect_status: '5xx' })).outcome).toBe('passed');
  });

  it('checks that the body contains a string', async () => {
    handler = (_request, response) => response.end('status: degraded');
    expect((await run({ url: base, body_contains: 'degraded' })).outcome).toBe('passed');
    const result = await run({ url: base, body_contains: 'ok' });
    expect(result.outcome).toBe('failed');
    expect(result.summary).toMatch(/^HTTP 200 in \d+ ms, body lacks "ok"$/);
    expect(result.detail).toContain('status: degraded');
  });

  it('compares a nested JSON value', async () => {
    handler = json(200, { data: { items: [{ state: 'ready' }] }, checks: { db: 'ok', cache: 'degraded' } });
    const nested = await run({ url: base, json_path: { path: 'data.items[0].state', equals: 'ready' } });
    expect(nested.outcome).toBe('passed');
    expect((await run({ url: base, json_path: { path: '$.checks.db', equals: 'ok' } })).outcome).toBe(
      'passed',
    );
    expect((await run({ url: base, json_path: { path: "$['checks']['db']", equals: 'ok' } })).outcome).toBe(
      'passed',
    );

    const degraded = await run({ url: base, json_path: { path: '$.checks.cache', equals: 'ok' } });
    expect(degraded.outcome).toBe('failed');
    expect(degraded.summary).toMatch(
      /^HTTP 200 in \d+ ms, \$\.checks\.cache is "degraded" \(expected "ok"\)$/,
    );

    const missing = await run({ url: base, json_path: { path: 'data.items[3].state', equals: 'ready' } });
    expect(missing.outcome).toBe('failed');
    expect(missing.summary).toContain('data.items[3].state is missing (expected "ready")');
  });

  it('compares JSON values by type, not by text', async () => {
    handler = json(200, { replicas: 3, healthy: true });
    expect((await run({ url: base, json_path: { path: 'replicas', equals: 3 } })).outcome).toBe('passed');
    expect((await run({ url: base, json_path: { path: 'healthy', equals: true } })).outcome).toBe('passed');
    const text = await run({ url: base, json_path: { path: 'replicas', equals: '3' } });
    expect(text.outcome).toBe('failed');
    expect(text.summary).toContain('replicas is 3 (expected "3")');
  });

  it('fails a body that is not JSON when a JSON value was asked for', async () => {
    handler = (_request, response) => response.end('<html>maintenance</html>');
    const result = await run({ url: base, json_path: { path: 'status', equals: 'ok' } });
    expect(result.outcome).toBe('failed');
    expect(result.summary).toContain('body is not JSON');
  });

  it('cannot evaluate a json_path it cannot parse', async () => {
    handler = json(200, { status: 'ok' });
    const result = await run({ url: base, json_path: { path: 'status[', equals: 'ok' } });
    expect(result.outcome).toBe('error');
  });

  it('fails an answer slower than max_latency', async () => {
    handler = (_request, response) => {
      setTimeout(() => response.end('ok'), 150);
    };
    const slow = await run({ url: base, max_latency: '50ms' });
    expect(slow.outcome).toBe('failed');
    expect(slow.summary).toMatch(/^HTTP 200 in \d+ ms \(limit 50 ms\)$/);
    expect(slow.value).toBeGreaterThanOrEqual(150);
    expect((await run({ url: base, max_latency: '5s' })).outcome).toBe('passed');
  });

  it('calls a refused connection an error', async () => {
    const port = await freePort();
    const result = await run({ url: `http://127.0.0.1:${port}/health` });
    expect(result.outcome).toBe('error');
    expect(result.summary).toBe(`connection refused by 127.0.0.1:${port}`);
  });

  it('calls a name that does not resolve an error', async () => {
    const result = await run({ url: 'http://does-not-exist.invalid/health' });
    expect(result.outcome).toBe('error');
    expect(result.summary).toContain('does-not-exist.invalid');
  });

  it('stops quickly when the signal aborts while the server hangs', async () => {
    handler = () => {}; // never answers
    const started = Date.now();
    const result = await run({ url: base, timeout: '200ms' }, AbortSignal.timeout(200));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(result).toEqual({ outcome: 'error', summary: 'timed out after 200ms' });
  });

  it('stops when the signal aborts in the middle of the body', async () => {
    handler = (_request, response) => {
      response.writeHead(200);
      response.write('partial');
    };
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await run({ url: base }, controller.signal);
    expect(result).toEqual({ outcome: 'error', summary: 'cancelled' });
  });

  it('follows redirects, at most five of them', async () => {
    handler = (request, response) => {
      const hop = Number(request.url?.slice(1) || 0);
      if (hop > 0) response.writeHead(302, { location: `/${hop - 1}` }).end();
      else response.end('arrived');
    };
    const followed = await run({ url: `${base}/3`, body_contains: 'arrived' });
    expect(followed.outcome).toBe('passed');
    expect(followed.detail).toContain(`redirected to ${base}/0`);

    const loop = await run({ url: `${base}/9` });
    expect(loop.outcome).toBe('error');
    expect(loop.summary).toContain('more than 5 redirects');
  });

  it('does not follow a redirect the spec expects', async () => {
    handler = (_request, response) => response.writeHead(301, { location: '/elsewhere' }).end();
    expect((await run({ url: base, expect_status: 301 })).outcome).toBe('passed');
  });

  it('reads at most 1 MiB of a large body', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    handler = (_request, response) => {
      response.writeHead(200);
      const write = (left: number) => {
        if (left === 0 || response.destroyed) return response.end('needle');
        response.write(chunk, () => write(left - 1));
      };
      write(64); // 4 MiB, then the needle
    };
    const result = await run({ url: base, body_contains: 'needle' });
    expect(result.outcome).toBe('failed');
    expect(result.summary).toContain('first 1 MiB of body lacks "needle"');
  });
});
