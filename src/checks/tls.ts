import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  checkServerIdentity,
  connect,
  type DetailedPeerCertificate,
  type PeerCertificate,
  rootCertificates,
} from 'node:tls';
import { abortedResult, describeConnectError, errorCode, formatAddress } from './net.js';
import type { CheckModule, CheckResult } from './types.js';

/**
 * TLS check: the certificate an endpoint presents is trusted, names the host, and stays valid for at
 * least `min_days` more days.
 *
 * Outcomes: once the handshake gives us a certificate, every verdict about it is `failed` (untrusted,
 * wrong name, expired, expiring soon) — the endpoint answered and its certificate is wrong. No
 * certificate to judge (refused, timeout, handshake failure) is `error`.
 */

const DAY_MS = 86_400_000;

export const tlsCheck: CheckModule<'tls'> = async (spec, context) => {
  const { signal } = context;
  if (signal.aborted) return abortedResult(signal, spec.timeout);
  const target = formatAddress(spec.host, spec.port);
  const servername = spec.servername ?? spec.host;

  let ca: string[] | undefined;
  if (spec.ca_file) {
    try {
      ca = [...(await defaultCertificates()), await readFile(spec.ca_file, 'utf8')];
    } catch (error) {
      return {
        outcome: 'error',
        summary: `cannot read ca_file ${spec.ca_file} (${errorCode(error) ?? error})`,
      };
    }
  }

  const started = performance.now();
  const handshake = await handshakeWith(spec.host, spec.port, servername, ca, signal);
  if ('failure' in handshake) {
    if (signal.aborted) return abortedResult(signal, spec.timeout, performance.now() - started);
    return handshake.failure;
  }

  const { certificate, authorizationError } = handshake;
  if (!certificate.valid_to) {
    return { outcome: 'error', summary: `${target} presented no certificate` };
  }

  const now = context.now();
  const validTo = Date.parse(certificate.valid_to);
  const validFrom = Date.parse(certificate.valid_from);
  // Whole days, towards zero: 40 days less a few seconds is "39 more days", one day and a bit ago is "1 day ago".
  const daysLeft = Math.trunc((validTo - now) / DAY_MS) || 0;
  const issuer = issuerName(certificate);
  const problems: string[] = [];

  // Dates first: "expired" is the clearest thing to tell someone, and the chain error would say the same.
  if (validTo <= now) {
    const ago = daysLeft === 0 ? 'less than a day' : plural(-daysLeft, 'day');
    problems.push(`certificate expired ${ago} ago (${day(validTo)})`);
  } else if (validFrom > now) {
    problems.push(`certificate not valid before ${day(validFrom)}`);
  }
  if (authorizationError && !REPORTED_SEPARATELY.has(authorizationError)) {
    problems.push(`certificate not trusted: ${untrustedReason(authorizationError, issuer)}`);
  }
  const identityError = checkServerIdentity(servername, certificate);
  if (identityError) {
    problems.push(`certificate is not valid for ${servername} (it names ${certificateNames(certificate)})`);
  }
  const inValidity = validFrom <= now && now < validTo;
  if (inValidity && daysLeft < spec.min_days) {
    const left = daysLeft === 0 ? 'less than a day' : plural(daysLeft, 'day');
    problems.push(`certificate expires in ${left} (< ${spec.min_days})`);
  }

  const detail = truncate(
    [
      ...problems.slice(1),
      `subject: ${distinguishedName(certificate.subject)}`,
      `issuer: ${distinguishedName(certificate.issuer)}`,
      `valid ${day(validFrom)} to ${day(validTo)}`,
      `names: ${certificateNames(certificate)}`,
    ].join('\n'),
    1_000,
  );
  const measured = { value: daysLeft, unit: 'number' as const, detail };
  if (problems.length > 0) {
    return { outcome: 'failed', summary: truncate(problems[0]!, 300), ...measured };
  }
  return {
    outcome: 'passed',
    summary: truncate(`certificate valid ${plural(daysLeft, 'more day')} (issuer: ${issuer})`, 300),
    ...measured,
  };
};

type Handshake =
  | { certificate: PeerCertificate | DetailedPeerCertificate; authorizationError?: string }
  | { failure: CheckResult };

/**
 * Completes a TLS handshake without rejecting a bad certificate, so we can say what is wrong with it.
 * Node still verifies the chain (and the name, when the chain is fine) and reports it in
 * `authorizationError`.
 */
function handshakeWith(
  host: string,
  port: number,
  servername: string,
  ca: string[] | undefined,
  signal: AbortSignal,
): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port,
      // SNI carries names only; an IP address there is a protocol error.
      servername: isIP(servername) ? undefined : servername,
      ca,
      rejectUnauthorized: false,
    });
    const finish = (handshake: Handshake) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(handshake);
    };
    const onAbort = () => finish({ failure: { outcome: 'error', summary: 'cancelled' } });
    signal.addEventListener('abort', onAbort, { once: true });

    socket.once('secureConnect', () => {
      const authorizationError = socket.authorizationError as Error | string | undefined;
      finish({
        certificate: socket.getPeerCertificate(),
        authorizationError:
          authorizationError instanceof Error
            ? (errorCode(authorizationError) ?? authorizationError.message)
            : authorizationError,
      });
    });
    socket.once('error', (error) => {
      const code = errorCode(error);
      const connectFailure = code !== undefined && CONNECT_ERRORS.has(code);
      finish({
        failure: {
          outcome: 'error',
          summary: connectFailure
            ? describeConnectError(error, host, port)
            : truncate(`TLS handshake with ${formatAddress(host, port)} failed: ${error.message}`, 300),
          detail: error.message.slice(0, 1_000),
        },
      });
    });
  });
}

const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Verification errors about the dates and the name, which we check and word ourselves. */
const REPORTED_SEPARATELY = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The CAs Node trusts by default (its bundle plus NODE_EXTRA_CA_CERTS). Passing `ca` replaces them, so
 * an internal CA is added to these rather than trusted alone.
 */
async function defaultCertificates(): Promise<readonly string[]> {
  const extraFile = process.env.NODE_EXTRA_CA_CERTS;
  const extra = extraFile ? await readFile(extraFile, 'utf8').catch(() => '') : '';
  return extra ? [...rootCertificates, extra] : rootCertificates;
}

function untrustedReason(code: string, issuer: string): string {
  switch (code) {
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return 'self-signed';
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      return `issuer ${issuer} is not a trusted CA`;
    case 'CERT_REVOKED':
      return 'revoked';
    case 'CERT_SIGNATURE_FAILURE':
      return 'bad signature';
    default:
      return code.toLowerCase().replaceAll('_', ' ');
  }
}

/** How people name a CA: its organisation ("Let's Encrypt"), else its common name. */
function issuerName(certificate: PeerCertificate): string {
  const issuer = certificate.issuer ?? {};
  return first(issuer.O) ?? first(issuer.CN) ?? 'unknown issuer';
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function distinguishedName(name: PeerCertificate['subject'] | undefined): string {
  if (!name) return 'none';
  return Object.entries(name)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : value}`)
    .join(', ');
}

function certificateNames(certificate: PeerCertificate): string {
  const altNames = certificate.subjectaltname
    ?.split(', ')
    .map((name) => name.replace(/^(DNS|IP Address):/, ''))
    .join(', ');
  return altNames || first(certificate.subject?.CN) || 'no names';
}

function day(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : 'unknown date';
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
