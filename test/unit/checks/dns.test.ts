import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsCheckSchema } from '../../../src/checklists/schema.js';
import { createDnsCheck, dnsCheck } from '../../../src/checks/dns.js';
import type { CheckContext, CheckModule } from '../../../src/checks/types.js';
import { type FakeDnsServer, startFakeDnsServer } from '../../support/dns-server.js';

function context(signal = AbortSignal.timeout(5_000)): CheckContext {
  return { signal, namespace: 'default', now: () => Date.now() };
}

function run(spec: Record<string, unknown>, signal?: AbortSignal, check: CheckModule<'dns'> = dnsCheck) {
  return check(dnsCheckSchema.parse({ type: 'dns', ...spec }), context(signal));
}

describe('dnsCheck through the system resolver (A, AAAA, ANY)', () => {
  it('passes a name that resolves, listing the answers', async () => {
    const result = await run({ name: 'localhost' });
    expect(result.outcome).toBe('passed');
    expect(result.summary).toMatch(/^localhost → (127\.0\.0\.1|::1)/);
  });

  it('passes when every expected address is among the answers', async () => {
    const result = await run({ name: 'localhost', record: 'A', expect: ['127.0.0.1'] });
    expect(result).toEqual({ outcome: 'passed', summary: 'localhost → 127.0.0.1' });
  });

  it('fails when an expected address is missing', async () => {
    const result = await run({ name: 'localhost', record: 'A', expect: ['127.0.0.1', '10.0.0.7'] });
    expect(result.outcome).toBe('failed');
    expect(result.summary).toBe('localhost → 127.0.0.1; missing 10.0.0.7');
  });

  it('fails a name that does not exist', async () => {
    const result = await run({ name: 'does-not-exist.invalid' });
    expect(result).toEqual({ outcome: 'failed', summary: 'does-not-exist.invalid does not resolve' });
  });

  it('gives up at once when the signal has already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await run({ name: 'localhost' }, controller.signal)).toEqual({
      outcome: 'error',
      summary: 'cancelled',
    });
  });
});

describe('dnsCheck asking DNS servers (CNAME, TXT)', () => {
  let server: FakeDnsServer;
  let check: CheckModule<'dns'>;

  beforeAll(async () => {
    server = await startFakeDnsServer((name, type) => {
      if (name === 'www.example.test' && type === 'CNAME')
        return [{ type: 'CNAME', target: 'lb.example.test' }];
      if (name === 'example.test' && type === 'TXT') {
        return [
          { type: 'TXT', text: ['v=spf1 ', '-all'] },
          { type: 'TXT', text: ['deploy=1.4.2'] },
        ];
      }
      if (name === 'example.test') return [];
      if (name === 'broken.example.test') return 'SERVFAIL';
      if (name === 'slow.example.test') return 'drop';
      return 'NXDOMAIN';
    });
    check = createDnsCheck({ servers: [server.address] });
  });

  afterAll(() => server.close());

  it('passes a CNAME pointing where expected, whatever the case and trailing dot', async () => {
    const result = await run(
      { name: 'www.example.test', record: 'CNAME', expect: ['LB.example.test.'] },
      undefined,
      check,
    );
    expect(result).toEqual({ outcome: 'passed', summary: 'www.example.test → lb.example.test' });
    expect(server.queries).toContain('www.example.test CNAME');
  });

  it('joins TXT chunks and compares whole records', async () => {
    const result = await run(
      { name: 'example.test', record: 'TXT', expect: ['deploy=1.4.2'] },
      undefined,
      check,
    );
    expect(result).toEqual({ outcome: 'passed', summary: 'example.test → "v=spf1 -all", "deploy=1.4.2"' });
    const wrong = await run(
      { name: 'example.test', record: 'TXT', expect: ['deploy=1.5.0'] },
      undefined,
      check,
    );
    expect(wrong.outcome).toBe('failed');
    expect(wrong.summary).toBe('example.test → "v=spf1 -all", "deploy=1.4.2"; missing "deploy=1.5.0"');
  });

  it('fails a name without a record of that type', async () => {
    const result = await run({ name: 'example.test', record: 'CNAME' }, undefined, check);
    expect(result).toEqual({ outcome: 'failed', summary: 'example.test has no CNAME record' });
  });

  it('fails an NXDOMAIN', async () => {
    const result = await run({ name: 'nope.example.test', record: 'TXT' }, undefined, check);
    expect(result).toEqual({ outcome: 'failed', summary: 'nope.example.test does not resolve' });
  });

  it('calls a SERVFAIL an error: the server could not say', async () => {
    const result = await run({ name: 'broken.example.test', record: 'CNAME' }, undefined, check);
    expect(result.outcome).toBe('error');
    expect(result.summary).toBe('DNS server failed to answer for broken.example.test (SERVFAIL)');
  });

  it('stops when the signal aborts while the server stays silent', async () => {
    const started = Date.now();
    const result = await run(
      { name: 'slow.example.test', record: 'CNAME', timeout: '300ms' },
      AbortSignal.timeout(300),
      check,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(result).toEqual({ outcome: 'error', summary: 'timed out after 300ms' });
  });
});
