/**
 * `tsx test/support/occupy-ports.ts [port…]` (default: 3000 6379)
 *
 * Makes well-known ports busy, as on a developer's laptop that followed README: the sandbox answering
 * HTTP on 3000 and Redis on 6379. CI runs the suite with it (.ci/run) so that no test comes to depend
 * on which well-known ports happen to be free. A port something already answers on is left alone; on a
 * free one it starts `redis-server` for 6379 (when installed; else a listener that says nothing) and an
 * HTTP server answering 200 to anything for the others. Prints `ready` once every port is busy, then
 * holds them until it is stopped (SIGTERM or SIGINT).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer as createTcpServer, type Server } from 'node:net';

const HOST = '127.0.0.1';
const REDIS_PORT = 6379;

const ports = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [3000, REDIS_PORT];
const servers: Server[] = [];
const children: ChildProcess[] = [];

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitUntilAnswers(port: number, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await answers(port))) {
    if (Date.now() > deadline) throw new Error(`${what} did not start listening on ${HOST}:${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: HOST, port }, () => resolve());
  });
}

/** A real Redis when one can be started (what a laptop has), else a port that accepts and stays silent. */
async function occupyRedisPort(port: number): Promise<string> {
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const spawned = await new Promise<boolean>((resolve) => {
    redis.once('spawn', () => resolve(true));
    redis.once('error', () => resolve(false));
  });
  if (spawned) {
    children.push(redis);
    await waitUntilAnswers(port, 'redis-server');
    return 'redis-server';
  }
  const silent = createTcpServer(() => {}); // accepts, never speaks
  await listen(silent, port);
  servers.push(silent);
  return 'a silent TCP listener (redis-server is not installed)';
}

async function occupyHttpPort(port: number): Promise<string> {
  const http = createHttpServer((request, response) => {
    request.resume();
    response
      .writeHead(200, { 'Content-Type': 'text/plain' })
      .end('occupied by test/support/occupy-ports.ts\n');
  });
  await listen(http, port);
  servers.push(http);
  return 'HTTP 200 to anything';
}

function stop(): void {
  for (const child of children) child.kill('SIGTERM');
  for (const server of servers) server.close();
  process.exit(0);
}
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

for (const port of ports) {
  if (await answers(port)) {
    console.log(`${HOST}:${port}: already busy (another process), left alone`);
    continue;
  }
  const what = port === REDIS_PORT ? await occupyRedisPort(port) : await occupyHttpPort(port);
  console.log(`${HOST}:${port}: ${what}`);
}
console.log('ready');
// Hold the ports until stopped; with nothing of our own to hold, there is nothing to wait for.
if (servers.length === 0 && children.length === 0) process.exit(0);
