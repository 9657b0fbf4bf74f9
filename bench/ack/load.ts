/**
 * The load process: sends signed block_actions bodies to one server over keep-alive HTTP and measures how
 * fast each is acknowledged. It runs apart from the server under test so the two do not share an event
 * loop. Driven over IPC by run.ts: `open` (fixed rate, latency from the scheduled send time, so a stall
 * counts against the server instead of quietly delaying the next sends) or `closed` (N workers, each sends
 * its next click when its previous answer arrives).
 *
 * Usage (from run.ts): fork('bench/ack/load.ts', [eventsUrl, clickFile]) with an IPC channel.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { newHistogram } from '../support/histogram.js';
import { SIGNING_SECRET } from '../support/protocol.js';
import {
  type ClickFile,
  type LoadCommand,
  type LoadResult,
  PAYLOAD_PREFIX,
  PAYLOAD_SUFFIX,
} from './protocol.js';

const [eventsUrl, clickPath] = process.argv.slice(2);
if (!eventsUrl || !clickPath || !process.send) {
  console.error('usage: forked by run.ts with <eventsUrl> <clickFile> and an IPC channel');
  process.exit(2);
}
const target = new URL(eventsUrl);
const SLACK_LIMIT_MS = 3_000;
const RAMP_TIMEOUT_MS = 30_000;

// The click file as Buffers: each body is joined from them at send time (a 30 kB copy), instead of building
// every body up front; hundreds of MB of fresh buffers made this process stall in GC just as a run began.
const file = JSON.parse(readFileSync(clickPath, 'utf8')) as ClickFile;
const messages = file.messages.map((message) => Buffer.from(message, 'latin1'));
const clicks = file.clicks.map((click) => ({
  head: Buffer.from(click.head, 'latin1'),
  message: messages[click.message] as Buffer,
}));
const prefix = Buffer.from(PAYLOAD_PREFIX, 'latin1');
const suffix = Buffer.from(PAYLOAD_SUFFIX, 'latin1');

function body(index: number): Buffer {
  const click = clicks[index];
  if (!click) throw new Error(`no click ${index} in ${clickPath}`);
  return Buffer.concat([prefix, click.head, click.message, suffix]);
}

interface Answer {
  status: number;
  error?: string;
  /** Set when the request had to open a new connection: how long the TCP connect took. */
  connectMs?: number;
}

/** Signs with the current time, as Slack does at the moment it sends. */
function post(agent: Agent, body: Buffer): Promise<Answer> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', SIGNING_SECRET)
    .update(`v0:${timestamp}:`)
    .update(body)
    .digest('hex');
  return new Promise((resolve) => {
    let connectMs: number | undefined;
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'Content-Length': body.length,
          'X-Slack-Request-Timestamp': timestamp,
          'X-Slack-Signature': `v0=${signature}`,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connectMs }));
        res.on('error', (error) => resolve({ status: 0, error: error.message }));
      },
    );
    req.on('socket', (socket) => {
      if (!socket.connecting) return;
      const opening = performance.now();
      socket.once('connect', () => {
        connectMs = performance.now() - opening;
      });
    });
    req.on('error', (error) => resolve({ status: 0, error: error.message }));
    req.end(body);
  });
}

class Tally {
  readonly histogram = newHistogram();
  sent = 0;
  ok = 0;
  errors = 0;
  late = 0;
  readonly errorSamples: string[] = [];
  finishedAt = 0;
  private slowest: Array<{ atMs: number; latencyMs: number }> = [];
  connections = 0;
  maxConnectMs = 0;
  /** Slowest answer before the measuring window (closed loop ramp-up). */
  rampMaxMs = 0;

  /** Wall-clock start, for the orchestrator's arithmetic across processes. */
  private readonly startedAtWall: number;

  constructor(private readonly startedAt: number) {
    this.startedAtWall = Date.now() + (startedAt - performance.now());
  }

  /** Every answer counts for errors and lateness; only `measured` ones go into the latency figures. */
  record(answer: Answer, latencyMs: number, sentAt: number, measured = true): void {
    if (answer.connectMs !== undefined) {
      this.connections++;
      this.maxConnectMs = Math.max(this.maxConnectMs, answer.connectMs);
    }
    if (measured) {
      if (this.slowest.length < 5 || latencyMs > (this.slowest.at(-1)?.latencyMs ?? 0)) {
        this.slowest.push({ atMs: Math.round(sentAt - this.startedAt), latencyMs: Math.round(latencyMs) });
        this.slowest.sort((a, b) => b.latencyMs - a.latencyMs);
        this.slowest.length = Math.min(this.slowest.length, 5);
      }
      this.histogram.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
    } else {
      this.rampMaxMs = Math.max(this.rampMaxMs, latencyMs);
    }
    if (latencyMs > SLACK_LIMIT_MS) this.late++;
    if (answer.status === 200) this.ok++;
    else {
      this.errors++;
      if (this.errorSamples.length < 5) this.errorSamples.push(answer.error ?? `HTTP ${answer.status}`);
    }
    this.finishedAt = Date.now();
  }

  result(mode: LoadResult['mode'], extra: Partial<LoadResult>): LoadResult {
    const ms = (micros: number) => micros / 1000;
    return {
      type: 'result',
      mode,
      sent: this.sent,
      ok: this.ok,
      errors: this.errors,
      errorSamples: this.errorSamples,
      late: this.late,
      p50: ms(this.histogram.getValueAtPercentile(50)),
      p90: ms(this.histogram.getValueAtPercentile(90)),
      p99: ms(this.histogram.getValueAtPercentile(99)),
      max: ms(this.histogram.maxValue),
      mean: ms(this.histogram.mean),
      perSecond: 0,
      windowMs: 0,
      ranOut: false,
      maxSendLagMs: 0,
      loopDelayMaxMs: 0,
      rampMs: 0,
      startedAt: Math.round(this.startedAtWall),
      finishedAt: this.finishedAt,
      slowest: this.slowest,
      rampMaxMs: this.rampMaxMs,
      connections: this.connections,
      maxConnectMs: this.maxConnectMs,
      ...extra,
    };
  }
}

/** A fresh agent per run: the server closes idle keep-alive sockets after 5 s, and a reused dead socket
 * would show up as a bogus error. */
function newAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1_024, scheduling: 'lifo' });
}

async function openLoop(command: Extract<LoadCommand, { type: 'open' }>): Promise<LoadResult> {
  const count = Math.round((command.ratePerSecond * command.durationMs) / 1000);
  const interval = 1000 / command.ratePerSecond;
  const agent = newAgent();
  const answers: Promise<void>[] = [];
  let maxSendLag = 0;
  const start = performance.now() + 50;
  const tally = new Tally(start);
  await new Promise<void>((done) => {
    let next = 0;
    const tick = () => {
      const now = performance.now();
      // Catch up on every send that is due, so a late timer never thins out the load.
      while (next < count && start + next * interval <= now) {
        const scheduled = start + next * interval;
        maxSendLag = Math.max(maxSendLag, now - scheduled);
        tally.sent++;
        answers.push(
          post(agent, body(command.from + next)).then((answer) =>
            tally.record(answer, performance.now() - scheduled, scheduled),
          ),
        );
        next++;
      }
      if (next >= count) done();
      else setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
  await Promise.all(answers);
  agent.destroy();
  return tally.result('open', { windowMs: command.durationMs, maxSendLagMs: maxSendLag });
}

/**
 * The window opens once every worker has had its first answer, i.e. all connections are open: a server
 * busy with the first workers' clicks accepts the remaining new connections slowly, which says more about
 * the benchmark's cold start than about steady clicking. Ramp-up clicks are real clicks all the same.
 */
async function closedLoop(command: Extract<LoadCommand, { type: 'closed' }>): Promise<LoadResult> {
  const agent = newAgent();
  let next = 0;
  let inWindow = 0;
  let ranOut = false;
  let lastInWindow = 0;
  let answeredWorkers = 0;
  const start = performance.now();
  let windowStart = Number.POSITIVE_INFINITY;
  let deadline = Number.POSITIVE_INFINITY;
  const rampDeadline = start + RAMP_TIMEOUT_MS;
  const tally = new Tally(start);
  const worker = async () => {
    let first = true;
    for (;;) {
      const now = performance.now();
      if (now >= deadline || (now >= rampDeadline && windowStart === Number.POSITIVE_INFINITY)) return;
      if (next >= command.available && !command.cycle) {
        ranOut = true;
        return;
      }
      const index = command.from + (next++ % command.available);
      tally.sent++;
      const sentAt = performance.now();
      const answer = await post(agent, body(index));
      const answeredAt = performance.now();
      const measured = sentAt >= windowStart;
      tally.record(answer, answeredAt - sentAt, sentAt, measured);
      if (measured && answeredAt <= deadline) {
        inWindow++;
        lastInWindow = answeredAt;
      }
      if (first && ++answeredWorkers === command.concurrency) {
        windowStart = answeredAt;
        deadline = windowStart + command.durationMs;
      }
      first = false;
    }
  };
  await Promise.all(Array.from({ length: command.concurrency }, worker));
  agent.destroy();
  if (windowStart === Number.POSITIVE_INFINITY)
    throw new Error(`not all ${command.concurrency} connections answered within ${RAMP_TIMEOUT_MS} ms`);
  const windowMs = ranOut ? lastInWindow - windowStart : command.durationMs;
  return tally.result('closed', {
    windowMs,
    ranOut,
    perSecond: (inWindow * 1000) / windowMs,
    rampMs: windowStart - start,
  });
}

process.on('message', (command: LoadCommand) => {
  if (command.type === 'exit') {
    process.disconnect();
    return;
  }
  // This process's own stalls would show up as the server's latency; measure them to tell them apart.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const run = command.type === 'open' ? openLoop(command) : closedLoop(command);
  run.then(
    (result) => {
      loopDelay.disable();
      process.send?.({ ...result, loopDelayMaxMs: loopDelay.max / 1e6 } satisfies LoadResult);
    },
    (error: Error) => {
      console.error(`load failed: ${error.stack ?? error.message}`);
      process.exit(1);
    },
  );
});
// Orchestrator gone (crash, Ctrl-C): nothing left to report to.
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready', port: 0 });
