import axios from 'axios';
import { CodedError, type CodesOf } from '../shared/errors.js';

/**
 * How a page reaches a paging service over HTTP (PagerDuty and the webhook both post JSON): transient
 * failures (network, 429, 5xx) are retried with backoff; a refusal (other 4xx) is not, and says why.
 */

/** A page that could not be sent: refused (4xx), unreachable after the retries, or misconfigured. */
export class PagerError extends CodedError<CodesOf<'pager'>> {
  override readonly name = 'PagerError';
}

export interface DeliveryOptions {
  /** Extra attempts after a transient failure; default 3. */
  retries?: number;
  /** First backoff, doubled each retry; default 500 ms. */
  backoffMs?: number;
}

export async function postPage(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  options: DeliveryOptions = {},
): Promise<void> {
  const retries = options.retries ?? 3;
  const backoffMs = options.backoffMs ?? 500;
  for (let attempt = 0; ; attempt++) {
    const response = await axios
      .post(url, body, { headers, timeout: 10_000, validateStatus: () => true })
      .catch((error: Error) => ({ status: 0, data: error.message }));
    if (response.status >= 200 && response.status < 300) return;
    const transient = response.status === 0 || response.status === 429 || response.status >= 500;
    if (!transient || attempt >= retries) {
      const what = response.status === 0 ? `no answer (${String(response.data)})` : `HTTP ${response.status}`;
      throw new PagerError(
        transient ? 'pager_unreachable' : 'pager_refused',
        `page ${transient ? 'failed' : 'refused'}: ${what}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** attempt));
  }
}
