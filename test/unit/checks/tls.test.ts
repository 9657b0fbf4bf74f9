import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsCheckSchema } from '../../../src/checklists/schema.js';
import { tlsCheck } from '../../../src/checks/tls.js';
import type { CheckContext } from '../../../src/checks/types.js';
import { freePort } from '../../../src/sandbox/infra/redis-server.js';
import { createTestCa, type TestCa } from '../../support/tls-certs.js';

let ca: TestCa;
const servers: Server[] = [];

beforeAll(async () => {
  ca = await createTestCa();
});

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  await ca.cleanup();
});

/** A TLS server on loopback presenting a certificate from the test CA valid for `days` more days. */
async function serve(days: number, names?: string[]): Promise<number> {
  const pair = await ca.issue({ days, names });
  const server = createServer(pair, (socket) => socket.end());
  server.on('tlsClientError', () => {}); // clients that hang up mid-handshake are expected here
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function context(signal = AbortSignal.timeout(5_000)): CheckContext {
  return { signal, namespace: 'default', now: () => Date.now() };
}

function run(spec: Record<string, unknown>, signal?: AbortSignal) {
  return tlsCheck(tlsCheckSchema.parse({ type: 'tls', host: 'localhost', ...spec }), context(signal));
}

describe('tlsCheck', () => {
  let fortyDays: number;
  beforeAll(async () => {
    fortyDays = await serve(40);
  });

  it('passes a trusted certificate with enough days left, reporting days and issuer', async () => {
    const result = await run({ port: fortyDays, ca_file: ca.caFile });
    expect(result.outcome).toBe('passed');
    expect(result.value).toBeGreaterThanOrEqual(39);
    expect(result.value).toBeLessThanOrEqual(40);
    expect(result.unit).toBe('number');
    expect(result.summary).toBe(`certificate valid ${result.value} more days (issuer: Flightdeck Test CA)`);
  });

  it('checks the certificate against the IP address when the host is one', async () => {
    const result = await run({ host: '127.0.0.1', port: fortyDays, ca_file: ca.caFile });
    expect(result.outcome).toBe('passed');
  });

  it('fails a certificate that expires sooner than min_days', async () => {
    const port = await serve(3);
    const result = await run({ port, ca_file: ca.caFile, min_days: 14 });
    expect(result.outcome).toBe('failed');
    expect(result.value).toBeGreaterThanOrEqual(2);
    expect(result.value).toBeLessThanOrEqual(3);
    expect(result.summary).toBe(`certificate expires in ${result.value} days (< 14)`);
    expect((await run({ port, ca_file: ca.caFile, min_days: 2 })).outcome).toBe('passed');
  });

  it('fails an expired certificate and says when it expired', async () => {
    const port = await serve(-1);
    const result = await run({ port, ca_file: ca.caFile });
    expect(result.outcome).toBe('failed');
    expect(result.summary).toMatch(/^certificate expired 1 day ago \(\d{4}-\d{2}-\d{2}\)$/);
    expect(result.value).toBeLessThan(0);
  });

  it('fails a certificate from a CA nobody trusts, with the reason', async () => {
    const result = await run({ port: fortyDays });
    expect(result.outcome).toBe('failed');
    expect(result.summary).toBe('certificate not trusted: issuer Flightdeck Test CA is not a trusted CA');
  });

  it('fails a certificate that does not name the server', async () => {
    const result = await run({ port: fortyDays, servername: 'wrong.example', ca_file: ca.caFile });
    expect(result.outcome).toBe('failed');
    expect(result.summary).toBe('certificate is not valid for wrong.example (it names localhost, 127.0.0.1)');
  });

  it('calls a refused connection an error', async () => {
    const port = await freePort();
    const result = await run({ port, ca_file: ca.caFile });
    expect(result).toMatchObject({ outcome: 'error', summary: `connection refused by localhost:${port}` });
  });

  it('calls an unreadable ca_file an error', async () => {
    const result = await run({ port: fortyDays, ca_file: '/nonexistent/ca.pem' });
    expect(result.outcome).toBe('error');
    expect(result.summary).toContain('cannot read ca_file /nonexistent/ca.pem');
  });

  it('calls a port that does not speak TLS an error', async () => {
    const { createServer: createPlainServer } = await import('node:net');
    const plain = createPlainServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const result = await run({ host: '127.0.0.1', port: (plain.address() as AddressInfo).port });
      expect(result.outcome).toBe('error');
      expect(result.summary).toContain('TLS handshake with 127.0.0.1');
    } finally {
      plain.close();
    }
  });

  it('stops when the signal aborts during a handshake that never ends', async () => {
    const { createServer: createPlainServer } = await import('node:net');
    const silent = createPlainServer(() => {}); // accepts, never answers the ClientHello
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const started = Date.now();
      const result = await run(
        { host: '127.0.0.1', port: (silent.address() as AddressInfo).port, timeout: '200ms' },
        AbortSignal.timeout(200),
      );
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(result).toEqual({ outcome: 'error', summary: 'timed out after 200ms' });
    } finally {
      silent.close();
    }
  });
});
