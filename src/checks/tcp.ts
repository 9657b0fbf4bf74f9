import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { abortedResult, describeConnectError, errorCode, formatAddress } from './net.js';
import type { CheckModule, CheckResult } from './types.js';

/**
 * TCP check: does host:port accept a connection?
 *
 * A refused connection is `failed`: the host answered, and its answer is "nothing listens here". A
 * timeout, an unreachable network or a name that does not resolve is `error`: we never reached anything
 * that could say yes or no.
 */
export const tcpCheck: CheckModule<'tcp'> = async (spec, context) => {
  const { signal } = context;
  const target = formatAddress(spec.host, spec.port);
  if (signal.aborted) return abortedResult(signal, spec.timeout);
  const started = performance.now();

  return new Promise<CheckResult>((resolve) => {
    const socket = connect({ host: spec.host, port: spec.port });
    const finish = (result: CheckResult) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = () => finish(abortedResult(signal, spec.timeout, performance.now() - started));
    signal.addEventListener('abort', onAbort, { once: true });

    socket.once('connect', () => {
      const ms = Math.round(performance.now() - started);
      finish({
        outcome: 'passed',
        summary: `connected to ${target} in ${ms} ms`,
        value: ms,
        unit: 'milliseconds',
      });
    });
    socket.once('error', (error) => {
      const code = errorCode(error);
      finish({
        outcome: code === 'ECONNREFUSED' ? 'failed' : 'error',
        summary: describeConnectError(error, spec.host, spec.port),
        detail: error.message.slice(0, 1_000),
      });
    });
  });
};
