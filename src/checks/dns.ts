import { promises as dns } from 'node:dns';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { abortedResult, errorCode } from './net.js';
import type { CheckModule, CheckResult, SpecOf } from './types.js';

/**
 * DNS check: a name resolves, and (with `expect`) every expected value is among the answers.
 *
 * A, AAAA and ANY go through the system resolver (`lookup`, so /etc/hosts and search domains count,
 * as they do for the service's own clients); CNAME and TXT ask the DNS servers directly.
 *
 * Outcomes: a clear "no" from DNS (NXDOMAIN, no record of that type, an expected value missing) is
 * `failed`; a server that fails, refuses or does not answer is `error`.
 */

type DnsSpec = SpecOf<'dns'>;

export interface DnsCheckOptions {
  /** DNS servers for CNAME and TXT queries (`host` or `host:port`); default the system's. */
  servers?: string[];
}

export function createDnsCheck(options: DnsCheckOptions = {}): CheckModule<'dns'> {
  return async (spec, context) => {
    const { signal } = context;
    if (signal.aborted) return abortedResult(signal, spec.timeout);
    const started = performance.now();

    let answers: string[];
    try {
      answers =
        spec.record === 'CNAME' || spec.record === 'TXT'
          ? await queryServers(spec.name, spec.record, options.servers, signal)
          : await lookupAddresses(spec.name, spec.record, signal);
    } catch (error) {
      if (signal.aborted) return abortedResult(signal, spec.timeout, performance.now() - started);
      return resolveError(error, spec);
    }
    answers = [...new Set(answers)];
    if (answers.length === 0) return doesNotResolve(spec);

    const shown = `${spec.name} → ${listAnswers(answers, spec.record)}`;
    const have = new Set(answers.map(normalise));
    const missing = (spec.expect ?? []).filter((value) => !have.has(normalise(value)));
    if (missing.length > 0) {
      return {
        outcome: 'failed',
        summary: truncate(`${shown}; missing ${listAnswers(missing, spec.record)}`, 300),
        detail: truncate(
          `answers: ${answers.join(', ')}\nexpected: ${(spec.expect ?? []).join(', ')}`,
          1_000,
        ),
      };
    }
    return { outcome: 'passed', summary: truncate(shown, 300) };
  };
}

export const dnsCheck: CheckModule<'dns'> = createDnsCheck();

/** Addresses from the system resolver. `lookup` cannot be cancelled, so on abort we stop waiting. */
async function lookupAddresses(name: string, record: 'A' | 'AAAA' | 'ANY', signal: AbortSignal) {
  const family = record === 'A' ? 4 : record === 'AAAA' ? 6 : 0;
  const results = await untilAborted(dns.lookup(name, { all: true, family }), signal);
  return results.map((result) => result.address);
}

async function queryServers(
  name: string,
  record: 'CNAME' | 'TXT',
  servers: string[] | undefined,
  signal: AbortSignal,
): Promise<string[]> {
  const resolver = new dns.Resolver();
  if (servers) resolver.setServers(servers);
  // cancel() makes the pending query reject with ECANCELLED.
  const cancel = () => resolver.cancel();
  signal.addEventListener('abort', cancel, { once: true });
  try {
    if (record === 'CNAME') return await resolver.resolveCname(name);
    // A TXT record arrives in chunks of up to 255 bytes; people write and expect the joined text.
    return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function resolveError(error: unknown, spec: DnsSpec): CheckResult {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  const result = (summary: string): CheckResult => ({
    outcome: 'error',
    summary: truncate(summary, 300),
    detail: message.slice(0, 1_000),
  });
  switch (code) {
    case 'ENOTFOUND':
    case 'ENODATA':
      return doesNotResolve(spec, code === 'ENODATA');
    case 'ESERVFAIL':
      return result(`DNS server failed to answer for ${spec.name} (SERVFAIL)`);
    case 'EREFUSED':
      return result(`DNS server refused the query for ${spec.name}`);
    case 'ETIMEOUT':
      return result(`DNS query for ${spec.name} timed out`);
    case 'EAI_AGAIN':
      return result(`cannot resolve ${spec.name} right now (temporary DNS failure)`);
    case 'ECONNREFUSED':
      return result(`DNS server unreachable for ${spec.name} (connection refused)`);
    default:
      return result(`DNS lookup of ${spec.name} failed: ${code ?? message}`);
  }
}

/** The name exists in no form the spec asked for: DNS answered, and the answer is no. */
function doesNotResolve(spec: DnsSpec, nameExists = false): CheckResult {
  const summary =
    spec.record === 'A'
      ? `${spec.name} does not resolve to an IPv4 address`
      : spec.record === 'AAAA'
        ? `${spec.name} does not resolve to an IPv6 address`
        : spec.record === 'ANY' || !nameExists
          ? `${spec.name} does not resolve`
          : `${spec.name} has no ${spec.record} record`;
  return { outcome: 'failed', summary: truncate(summary, 300) };
}

/** Answers compare case-insensitively, without a trailing dot, and IPv6 in its short form. */
function normalise(value: string): string {
  const text = value.trim().toLowerCase().replace(/\.$/, '');
  if (!isIPv6(text)) return text;
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/** A comma list that stays readable in one Slack line. */
function listAnswers(values: string[], record: DnsSpec['record']): string {
  const shown = record === 'TXT' ? values.map((value) => JSON.stringify(value)) : values;
  let text = '';
  for (const [index, value] of shown.entries()) {
    const next = text ? `${text}, ${value}` : value;
    if (next.length > 200 && text) return `${text} and ${shown.length - index} more`;
    text = next;
  }
  return text;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
