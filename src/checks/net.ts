import { formatDuration } from '../shared/duration.js';
import type { CheckResult } from './types.js';

/**
 * Connect-error wording and abort handling every network check shares, so they all say "connection
 * refused by db:5432" and "timed out after 5s" the same way.
 */

/** `host:port`, with IPv6 literals bracketed (`[::1]:443`). */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The system error code of a failed connect. With happy eyeballs (Node 20's autoSelectFamily) a host with
 * several addresses fails with an AggregateError whose first member carries the code.
 */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  if (error instanceof AggregateError) return errorCode(error.errors[0]);
  return undefined;
}

/** One line for a connection that did not get as far as an answer. */
export function describeConnectError(error: unknown, host: string, port: number): string {
  const target = formatAddress(host, port);
  const code = errorCode(error);
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused by ${target}`;
    case 'ECONNRESET':
      return `connection reset by ${target}`;
    case 'ENOTFOUND':
      return `${host} does not resolve`;
    case 'EAI_AGAIN':
      return `cannot resolve ${host} (DNS lookup failed temporarily)`;
    case 'ETIMEDOUT':
      return `connecting to ${target} timed out`;
    case 'EHOSTUNREACH':
      return `host ${host} is unreachable`;
    case 'ENETUNREACH':
      return `network unreachable for ${target}`;
    case 'EPIPE':
      return `connection to ${target} closed unexpectedly`;
    default: {
      const message = error instanceof Error ? error.message : String(error);
      return `cannot connect to ${target}: ${message}`.slice(0, 300);
    }
  }
}

/**
 * The result for a run whose signal aborted. `AbortSignal.timeout()` aborts with a TimeoutError: say how
 * long that was (the spec's timeout when set, else what we waited). The check runner aborts with an Error
 * that says why ("timed out after 5s", "worker shutting down"); a bare `abort()` means cancelled.
 */
export function abortedResult(signal: AbortSignal, timeoutMs?: number, elapsedMs?: number): CheckResult {
  const reason: unknown = signal.reason;
  const name = reason instanceof Error || reason instanceof DOMException ? reason.name : undefined;
  if (name === 'TimeoutError') {
    const waited = timeoutMs ?? elapsedMs;
    return {
      outcome: 'error',
      summary: waited === undefined ? 'timed out' : `timed out after ${formatDuration(waited)}`,
    };
  }
  if (name !== 'AbortError' && reason instanceof Error && reason.message) {
    const why = reason.message.slice(0, 250);
    return { outcome: 'error', summary: why.startsWith('timed out') ? why : `cancelled: ${why}` };
  }
  return { outcome: 'error', summary: 'cancelled' };
}
