import type { Server, ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';

/**
 * Stopping the Slack side without dropping a click. Slack keeps sockets to us open between requests, so a
 * click may be on its way on one of them as we stop; and a listener keeps working after its ack() (the
 * click's transition, its replies), which must finish before Redis is closed.
 */

/** Work that outlives the request that started it, e.g. a listener's after its ack(). */
export class InFlightWork {
  private readonly running = new Set<Promise<unknown>>();

  /** Counts `work` as running until it settles; returns it unchanged. */
  track<T>(work: Promise<T>): Promise<T> {
    this.running.add(work);
    const forget = () => this.running.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** Waits until nothing runs (work started meanwhile included) or `deadline`; resolves with what is left. */
  async settled(deadline: number): Promise<number> {
    while (this.running.size > 0) {
      const allSettled = await settledBy(Promise.allSettled(this.running), deadline);
      if (!allSettled) break;
    }
    return this.running.size;
  }
}

/**
 * Closes an HTTP server without resetting a request. `close()` stops accepting connections and answers every
 * request already received or still arriving on an open keep-alive socket, with `Connection: close` so the
 * client does not send another on it. Sockets nobody used within the grace are closed then; a request still
 * unanswered at the deadline is cut off.
 */
export class HttpDrain {
  private readonly unanswered = new Set<ServerResponse>();
  private closing: Promise<void> | undefined;

  constructor(private readonly server: Server) {
    // Prepended: the header must be set before any other listener can answer.
    server.prependListener('request', (_request, response) => {
      if (this.closing) response.setHeader('Connection', 'close');
      this.unanswered.add(response);
      response.once('close', () => this.unanswered.delete(response));
    });
  }

  close(graceMs: number, deadline: number): Promise<void> {
    this.closing ??= this.drain(graceMs, deadline);
    return this.closing;
  }

  private async drain(graceMs: number, deadline: number): Promise<void> {
    for (const response of this.unanswered)
      if (!response.headersSent) response.setHeader('Connection', 'close');
    // http.Server#close would also destroy the idle keep-alive sockets at once (Node ≥ 19), resetting a
    // request a client is sending on one right now; net.Server#close only stops accepting connections.
    const closed = new Promise<void>((resolve) =>
      NetServer.prototype.close.call(this.server, () => resolve()),
    );
    if (await settledBy(closed, Math.min(Date.now() + graceMs, deadline))) return;
    this.server.closeIdleConnections();
    if (await settledBy(closed, deadline)) return;
    this.server.closeAllConnections();
    await closed;
  }
}

/** True once `promise` settles, false at `deadline` if it has not by then. */
async function settledBy(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
