import { type AddressInfo, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpCheckSchema } from '../../../src/checklists/schema.js';
import { tcpCheck } from '../../../src/checks/tcp.js';
import type { CheckContext } from '../../../src/checks/types.js';
import { freePort } from '../../../src/sandbox/infra/redis-server.js';
import { type Blackhole, startBlackhole } from '../../support/blackhole.js';

let listener: Server;
let port: number;

beforeAll(async () => {
  listener = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as AddressInfo).port;
});

afterAll(() => new Promise((resolve) => listener.close(resolve)));

function context(signal = AbortSignal.timeout(5_000)): CheckContext {
  return { signal, namespace: 'default', now: () => Date.now() };
}

function run(spec: Record<string, unknown>, signal?: AbortSignal) {
  return tcpCheck(tcpCheckSchema.parse({ type: 'tcp', ...spec }), context(signal));
}

describe('tcpCheck', () => {
  it('passes when the port accepts a connection, reporting the connect time', async () => {
    const result = await run({ host: '127.0.0.1', port });
    expect(result.outcome).toBe('passed');
    expect(result.summary).toMatch(new RegExp(`^connected to 127\\.0\\.0\\.1:${port} in \\d+ ms$`));
    expect(result.unit).toBe('milliseconds');
    expect(result.value).toBeGreaterThanOrEqual(0);
  });

  it('resolves host names', async () => {
    expect((await run({ host: 'localhost', port })).outcome).toBe('passed');
  });

  it('fails a closed port: the host answered that nothing listens there', async () => {
    const closed = await freePort();
    const result = await run({ host: '127.0.0.1', port: closed });
    expect(result.outcome).toBe('failed');
    expect(result.summary).toBe(`connection refused by 127.0.0.1:${closed}`);
  });

  it('calls a name that does not resolve an error', async () => {
    const result = await run({ host: 'does-not-exist.invalid', port: 5432 });
    expect(result.outcome).toBe('error');
    expect(result.summary).toBe('does-not-exist.invalid does not resolve');
  });

  describe('against a host that never answers', () => {
    let blackhole: Blackhole;
    beforeAll(async () => {
      blackhole = await startBlackhole();
    });
    afterAll(() => blackhole.close());

    it('calls a connect that times out an error, and stops when the signal says', async () => {
      const started = Date.now();
      const result = await run(
        { host: blackhole.host, port: blackhole.port, timeout: '300ms' },
        AbortSignal.timeout(300),
      );
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(result).toEqual({ outcome: 'error', summary: 'timed out after 300ms' });
    });

    it('says "cancelled" when the worker cancels the run', async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      const result = await run({ host: blackhole.host, port: blackhole.port }, controller.signal);
      expect(result).toEqual({ outcome: 'error', summary: 'cancelled' });
    });
  });

  it('passes on why the runner aborted', async () => {
    const timedOut = new AbortController();
    timedOut.abort(new Error('timed out after 5s'));
    expect(await run({ host: '127.0.0.1', port }, timedOut.signal)).toEqual({
      outcome: 'error',
      summary: 'timed out after 5s',
    });
    const shutdown = new AbortController();
    shutdown.abort(new Error('worker shutting down'));
    expect(await run({ host: '127.0.0.1', port }, shutdown.signal)).toEqual({
      outcome: 'error',
      summary: 'cancelled: worker shutting down',
    });
  });

  it('brackets IPv6 addresses in messages', async () => {
    const closed = await freePort();
    const result = await run({ host: '::1', port: closed });
    // Either refused (IPv6 loopback present) or unreachable/unavailable (no IPv6): never a pass.
    expect(result.outcome).not.toBe('passed');
    expect(result.summary).toContain(`[::1]:${closed}`);
  });
});
