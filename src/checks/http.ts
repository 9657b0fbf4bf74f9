import { performance } from 'node:perf_hooks';
import { addAbortSignal, type Readable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import axios, { type AxiosResponse } from 'axios';
import { abortedResult, describeConnectError, errorCode } from './net.js';
import type { CheckModule, CheckOutcome, CheckResult, SpecOf } from './types.js';

/**
 * HTTP check: one request, then status, body, JSON value and latency against the spec.
 *
 * Outcomes: anything that stops us getting an answer (refused, reset, DNS, TLS, timeout, a redirect loop)
 * is `error`. An answer is evaluated: a mismatch is `failed` — except a 5xx the spec did not ask for,
 * which says the service could not answer the question, so it is `error` too.
 */

const MAX_REDIRECTS = 5;
/** Bodies are read up to this size; `body_contains` looks at this much, JSON must fit in it. */
const MAX_BODY_BYTES = 1024 * 1024;

type HttpSpec = SpecOf<'http'>;
type StatusExpectation = HttpSpec['expect_status'];

export const httpCheck: CheckModule<'http'> = async (spec, context) => {
  const { signal } = context;
  if (signal.aborted) return abortedResult(signal, spec.timeout);

  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    return { outcome: 'error', summary: `invalid URL ${truncate(spec.url, 200)}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { outcome: 'error', summary: `unsupported URL scheme ${url.protocol} (use http or https)` };
  }

  const started = performance.now();
  let response: AxiosResponse<Readable>;
  let body: { text: string; truncated: boolean };
  try {
    response = await axios.request<Readable>({
      url: url.href,
      method: spec.method,
      headers: { 'User-Agent': 'Flightdeck-check', ...spec.headers },
      data: spec.body,
      responseType: 'stream',
      // We judge every status ourselves; axios must never turn one into an exception.
      validateStatus: () => true,
      // Following redirects would hide the 3xx a spec expects.
      maxRedirects: admitsAny(spec.expect_status, 300, 399) ? 0 : MAX_REDIRECTS,
      signal,
    });
    body = await readCapped(response.data, signal);
  } catch (error) {
    if (signal.aborted) return abortedResult(signal, spec.timeout, performance.now() - started);
    return requestError(error, url);
  }
  const ms = Math.round(performance.now() - started);

  const status = response.status;
  const head = `HTTP ${status} in ${ms} ms`;
  const measured = { value: ms, unit: 'milliseconds' as const };
  const redirectedTo = finalUrl(response);
  const detail = describeAnswer(redirectedTo, body.text);

  if (!statusMatches(status, spec.expect_status)) {
    // An unexpected 5xx means "could not answer"; any other wrong status is an answer we can judge.
    const outcome: CheckOutcome =
      status >= 500 && !admitsAny(spec.expect_status, 500, 599) ? 'error' : 'failed';
    return {
      outcome,
      summary: `HTTP ${status} (expected ${formatExpectation(spec.expect_status)}) in ${ms} ms`,
      ...measured,
      detail,
    };
  }

  const problems: Problem[] = [];
  if (spec.body_contains !== undefined && !body.text.includes(spec.body_contains)) {
    const where = body.truncated ? 'first 1 MiB of body' : 'body';
    problems.push({ text: `${where} lacks ${quote(spec.body_contains)}`, outcome: 'failed' });
  }
  if (spec.json_path) {
    const problem = checkJsonPath(body, spec.json_path.path, spec.json_path.equals);
    if (problem) problems.push(problem);
  }
  const overLimit = spec.max_latency !== undefined && ms > spec.max_latency;

  // `error` wins over `failed`: a part we could not evaluate must not read as a verdict.
  const outcome: CheckOutcome = problems.some((problem) => problem.outcome === 'error')
    ? 'error'
    : problems.length > 0 || overLimit
      ? 'failed'
      : 'passed';
  const parts = [
    overLimit ? `${head} (limit ${spec.max_latency} ms)` : head,
    ...problems.map((problem) => problem.text),
  ];
  return {
    outcome,
    summary: truncate(parts.join(', '), 300),
    ...measured,
    ...(outcome === 'passed' && !redirectedTo ? {} : { detail }),
  };
};

interface Problem {
  text: string;
  outcome: CheckOutcome;
}

/** Reads the response body up to MAX_BODY_BYTES, then lets the rest go. */
async function readCapped(
  stream: Readable,
  signal: AbortSignal,
): Promise<{ text: string; truncated: boolean }> {
  addAbortSignal(signal, stream);
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const room = MAX_BODY_BYTES - size;
    if (chunk.length > room) {
      chunks.push(chunk.subarray(0, room));
      truncated = true;
      break; // leaving the loop destroys the stream
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated };
}

function requestError(error: unknown, url: URL): CheckResult {
  const code = errorCode(error);
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ERR_FR_TOO_MANY_REDIRECTS') {
    return {
      outcome: 'error',
      summary: `more than ${MAX_REDIRECTS} redirects from ${truncate(url.href, 200)}`,
    };
  }
  // TLS trouble on an https URL: the HTTP question could not be asked (the tls check judges certificates).
  if (code && (/CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL/.test(code) || code === 'EPROTO')) {
    return {
      outcome: 'error',
      summary: truncate(`TLS failed for ${url.host}: ${message}`, 300),
      detail: message.slice(0, 1_000),
    };
  }
  return {
    outcome: 'error',
    summary: describeConnectError(error, url.hostname.replace(/^\[|\]$/g, ''), port),
    detail: message.slice(0, 1_000),
  };
}

/** The URL the answer came from, when redirects were followed. */
function finalUrl(response: AxiosResponse): string | undefined {
  const request = response.request as {
    res?: { responseUrl?: string };
    _redirectable?: { _redirectCount?: number };
  };
  const redirects = request?._redirectable?._redirectCount ?? 0;
  return redirects > 0 ? request.res?.responseUrl : undefined;
}

function describeAnswer(redirectedTo: string | undefined, text: string): string {
  const lines: string[] = [];
  if (redirectedTo) lines.push(`redirected to ${redirectedTo}`);
  const snippet = text.replace(/\s+/g, ' ').trim();
  if (snippet) lines.push(`body: ${snippet}`);
  return truncate(lines.join('\n'), 1_000);
}

function statusMatches(status: number, expected: StatusExpectation): boolean {
  if (typeof expected === 'number') return status === expected;
  if (Array.isArray(expected)) return status >= expected[0] && status <= expected[1];
  return Math.floor(status / 100) === Number(expected[0]);
}

/** Whether the expectation accepts any status in [lo, hi]. */
function admitsAny(expected: StatusExpectation, lo: number, hi: number): boolean {
  const [from, to] =
    typeof expected === 'number'
      ? [expected, expected]
      : Array.isArray(expected)
        ? expected
        : [Number(expected[0]) * 100, Number(expected[0]) * 100 + 99];
  return from <= hi && to >= lo;
}

function formatExpectation(expected: StatusExpectation): string {
  return Array.isArray(expected) ? `${expected[0]}–${expected[1]}` : String(expected);
}

/** The problem with the JSON value at `path`, or undefined when it holds. */
function checkJsonPath(
  body: { text: string; truncated: boolean },
  path: string,
  equals: unknown,
): Problem | undefined {
  const segments = parseJsonPath(path);
  if (!segments) return { text: `json_path ${quote(path)} is not a path I can read`, outcome: 'error' };
  if (body.truncated) return { text: 'body over 1 MiB, JSON not read', outcome: 'error' };
  let document: unknown;
  try {
    document = JSON.parse(body.text);
  } catch {
    // The service answered, just not with JSON: that is a wrong answer, not a missing one.
    return { text: `body is not JSON (wanted ${path})`, outcome: 'failed' };
  }
  const found = lookup(document, segments);
  if (!found.present) {
    return {
      text: equals === undefined ? `${path} is missing` : `${path} is missing (expected ${show(equals)})`,
      outcome: 'failed',
    };
  }
  // No `equals`: the value only has to be there.
  if (equals === undefined || isDeepStrictEqual(found.value, equals)) return undefined;
  return { text: `${path} is ${show(found.value)} (expected ${show(equals)})`, outcome: 'failed' };
}

/**
 * A small JSONPath subset: `$` optional, then `.name`, `[0]`, `['a.b']` steps —
 * `status`, `data.items[0].state`, `$.checks.db`, `$['x-y']`.
 */
export function parseJsonPath(path: string): Array<string | number> | undefined {
  const segments: Array<string | number> = [];
  let rest = path.trim();
  if (rest.startsWith('$')) rest = rest.slice(1);
  else if (rest && !rest.startsWith('[')) rest = `.${rest}`;
  while (rest) {
    const name = /^\.([^.[\]]+)/.exec(rest) ?? /^\['([^']*)'\]/.exec(rest) ?? /^\["([^"]*)"\]/.exec(rest);
    const index = /^\[(\d+)\]/.exec(rest);
    if (name?.[1] !== undefined) segments.push(name[1]);
    else if (index?.[1] !== undefined) segments.push(Number(index[1]));
    else return undefined;
    rest = rest.slice((name ?? index)![0].length);
  }
  return segments;
}

function lookup(document: unknown, segments: Array<string | number>): { present: boolean; value?: unknown } {
  let current: unknown = document;
  for (const segment of segments) {
    if (typeof segment === 'number') {
      if (!Array.isArray(current) || segment >= current.length) return { present: false };
      current = current[segment];
    } else {
      if (typeof current !== 'object' || current === null || Array.isArray(current))
        return { present: false };
      if (!Object.hasOwn(current, segment)) return { present: false };
      current = (current as Record<string, unknown>)[segment];
    }
  }
  return { present: true, value: current };
}

function show(value: unknown): string {
  return truncate(JSON.stringify(value) ?? String(value), 80);
}

function quote(text: string): string {
  return `"${truncate(text, 80)}"`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
