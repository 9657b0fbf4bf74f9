/** A Web API call as Slack reads it: arguments and token from the request, and the `{ok: false}` it may answer. */
import type { IncomingMessage } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';
import { describeProblems, isObject, type JsonObject, type Problem } from './block-kit-rules.js';

/** An `{ok: false}` answer; `extra` carries `response_metadata`, `errors`, `needed`… */
export class SlackApiError extends Error {
  constructor(
    readonly code: string,
    readonly extra: JsonObject = {},
  ) {
    super(code);
  }
}

export function invalid(code: string, problems: Problem[]): SlackApiError {
  const { errors, messages } = describeProblems(problems);
  return new SlackApiError(code, { errors, response_metadata: { messages } });
}

export function stringArg(args: JsonObject, name: string): string | undefined {
  const value = args[name];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

export function flagArg(args: JsonObject, name: string): boolean {
  return args[name] === true || args[name] === 'true' || args[name] === '1' || args[name] === 1;
}

const JSON_FIELDS = ['blocks', 'attachments', 'view', 'metadata'];

/**
 * Arguments from the query string and the body. Slack takes url-encoded forms (where blocks, attachments and
 * view are JSON strings) and JSON bodies (where the token must come as `Authorization: Bearer`).
 */
export function readApiCall(
  url: URL,
  req: IncomingMessage,
  raw: string,
): { args: JsonObject; token?: string; parseError?: SlackApiError } {
  const args: JsonObject = Object.fromEntries(url.searchParams.entries());
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  let bodyToken: string | undefined;
  let parseError: SlackApiError | undefined;
  if (raw !== '') {
    if (contentType === 'application/x-www-form-urlencoded') {
      for (const [key, value] of Object.entries(parseQueryString(raw))) {
        args[key] = Array.isArray(value) ? value[value.length - 1] : value;
      }
      bodyToken = stringArg(args, 'token');
    } else if (contentType === 'application/json') {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (isObject(parsed)) Object.assign(args, parsed);
      } catch {
        parseError = new SlackApiError('invalid_json');
      }
    } else if (contentType === '') {
      parseError = new SlackApiError('missing_post_type');
    } else {
      parseError = new SlackApiError('invalid_post_type');
    }
  }
  for (const field of JSON_FIELDS) {
    const value = args[field];
    if (typeof value !== 'string') continue;
    try {
      args[field] = JSON.parse(value);
    } catch {
      parseError ??= new SlackApiError(field === 'blocks' ? 'invalid_blocks_format' : 'invalid_arguments', {
        response_metadata: { messages: [`[ERROR] ${field} must be valid JSON [json-pointer:/${field}]`] },
      });
    }
  }
  delete args.token;
  // A token in the query string is refused for apps created since 2021 (changelog 2020-11), and a JSON body's
  // `token` is never read: JSON calls must use the Authorization header (changelog 2017-10).
  const header = req.headers.authorization;
  const headerToken = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
  return { args, token: headerToken ?? bodyToken, parseError };
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
