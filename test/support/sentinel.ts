import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/sandbox/infra/redis-server.js';

/**
 * A Redis that fails over, on loopback: a master (AOF, fsync every second), one replica of it, and three
 * sentinels (`redis-sentinel`, quorum 2) watching them with short timeouts, so a killed master is replaced
 * within a few seconds. Each process has its own temporary directory, removed by `stop()`.
 */

export const MASTER_NAME = 'flightdeck';

/** One of the two Redis servers (master or replica: that changes with each failover). */
export interface RedisNode {
  port: number;
  /** Whether its process is running. */
  readonly running: boolean;
}

export interface SentinelSetup {
  masterName: string;
  /** The sentinels as REDIS_SENTINELS wants them: `127.0.0.1:port,…`. */
  sentinelList: string;
  /** The master's port as the sentinels tell it now. */
  masterPort(): Promise<number>;
  /** SIGKILLs the current master (no shutdown, no last fsync); resolves with the node killed. */
  killMaster(): Promise<RedisNode>;
  /**
   * SIGSTOPs the current master: a stall (a paused VM, a swap storm). It keeps its connections and answers
   * nothing until `resume()`, then goes on as a master until the sentinels demote it.
   */
  stallMaster(): Promise<{ port: number; resume(): void }>;
  /** Resolves once the sentinels name another master than `oldPort` and it answers as a master. */
  waitForFailover(oldPort: number): Promise<number>;
  /**
   * Starts a killed node again on its port and directory; resolves once the sentinels have made it a
   * replica of the current master (it starts as a master, by its own configuration).
   */
  restart(node: RedisNode): Promise<void>;
  /** Resolves once the server on `port` is a replica of the current master, in sync with it. */
  waitUntilReplica(port: number): Promise<void>;
  stop(): Promise<void>;
}

/** A sentinel calls the master down after this long without an answer, then the failover starts. */
const DOWN_AFTER_MS = 1_000;
const FAILOVER_TIMEOUT_MS = 3_000;

export async function startSentinelSetup(): Promise<SentinelSetup> {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  const tempDir = async (label: string) => {
    const dir = await mkdtemp(join(tmpdir(), `flightdeck-${label}-`));
    dirs.push(dir);
    return dir;
  };
  const stopAll = async () => {
    await Promise.all(children.map(stopProcess));
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  };

  try {
    const serverArgs = (port: number, dir: string) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--dir',
      dir,
    ];
    const launch = async (port: number, dir: string, extra: string[] = []): Promise<ChildProcess> => {
      const child = await startProcess('redis-server', [...serverArgs(port, dir), ...extra], port);
      children.push(child);
      return child;
    };
    /** A server on a free port with its own directory; `child` changes when it is restarted. */
    const startNode = async (label: string, extra: string[] = []) => {
      const port = await freePort();
      const dir = await tempDir(label);
      const node = {
        port,
        dir,
        child: await launch(port, dir, extra),
        get running() {
          return node.child.exitCode === null && node.child.signalCode === null;
        },
      };
      return node;
    };

    const master = await startNode('master');
    const replica = await startNode('replica', ['--replicaof', '127.0.0.1', String(master.port)]);
    await until(
      async () => (await info(replica.port, 'replication')).includes('master_link_status:up'),
      'the replica to sync with the master',
    );

    const sentinelPorts: number[] = [];
    for (let index = 0; index < 3; index++) {
      const port = await freePort();
      const dir = await tempDir('sentinel');
      // Sentinel rewrites its configuration file as it learns (replicas, other sentinels, new masters).
      const configFile = join(dir, 'sentinel.conf');
      await writeFile(
        configFile,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          'sentinel resolve-hostnames no',
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${MASTER_NAME} ${DOWN_AFTER_MS}`,
          `sentinel failover-timeout ${MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
          `sentinel parallel-syncs ${MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      children.push(await startProcess('redis-sentinel', [configFile], port));
      sentinelPorts.push(port);
    }
    // A failover needs the sentinels to agree: each must know the replica and the two other sentinels.
    await until(
      async () => {
        for (const port of sentinelPorts) {
          const replicas = (await sentinelCommand(port, 'replicas', MASTER_NAME)) as string[][];
          const others = (await sentinelCommand(port, 'sentinels', MASTER_NAME)) as string[][];
          const healthy = replicas.filter((fields) => !/s_down|disconnected/.test(field(fields, 'flags')));
          if (healthy.length < 1 || others.length < 2) return false;
        }
        return true;
      },
      'the sentinels to know the replica and each other',
      30_000,
    );

    const askMaster = async () => {
      for (const port of sentinelPorts) {
        try {
          const [, masterPortText] = (await sentinelCommand(
            port,
            'get-master-addr-by-name',
            MASTER_NAME,
          )) as string[];
          return Number(masterPortText);
        } catch {
          // this sentinel is away: ask the next
        }
      }
      throw new Error('no sentinel answers');
    };
    const nodes = [master, replica];
    const currentMaster = async () => {
      const port = await askMaster();
      const node = nodes.find((candidate) => candidate.port === port);
      if (!node) throw new Error(`the master on ${port} is not one of ours`);
      return node;
    };
    const waitUntilReplica = async (port: number) => {
      const master = await askMaster();
      await until(
        async () => {
          const replication = await info(port, 'replication');
          return (
            replication.includes('role:slave') &&
            replication.includes(`master_port:${master}`) &&
            replication.includes('master_link_status:up')
          );
        },
        `${port} to follow the master on ${master} as a replica`,
        30_000,
      );
    };
    return {
      masterName: MASTER_NAME,
      sentinelList: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(','),
      masterPort: askMaster,
      async killMaster() {
        const victim = await currentMaster();
        const exited = new Promise((resolve) => victim.child.once('exit', resolve));
        victim.child.kill('SIGKILL');
        await exited;
        return victim;
      },
      async stallMaster() {
        const stalled = await currentMaster();
        stalled.child.kill('SIGSTOP');
        return { port: stalled.port, resume: () => stalled.child.kill('SIGCONT') };
      },
      async waitForFailover(oldPort) {
        let newPort = oldPort;
        await until(
          async () => {
            newPort = await askMaster();
            return newPort !== oldPort && (await info(newPort, 'replication')).includes('role:master');
          },
          'the sentinels to promote the replica',
          30_000,
        );
        return newPort;
      },
      async restart(victim) {
        const entry = nodes.find((candidate) => candidate.port === victim.port);
        if (!entry || entry.running) throw new Error(`no stopped node on ${victim.port}`);
        entry.child = await launch(entry.port, entry.dir);
        await waitUntilReplica(entry.port);
      },
      waitUntilReplica,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Spawns a Redis process and waits until it answers PING on `port`. */
async function startProcess(bin: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(bin, args, { stdio: 'ignore' });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => reject(new Error(`${bin} exited early (code ${code})`)));
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new Error(`${bin} is not installed (Debian: apt-get install ${bin})`)
          : error,
      ),
    );
  });
  exited.catch(() => {});
  try {
    await Promise.race([until(() => answers(port), `${bin} on ${port} to answer`), exited]);
  } catch (error) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw error;
  }
  return child;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL'); // throw-away data: nothing to flush
  await exited;
}

/** One short-lived connection that gives up at once, for asking a server or sentinel something. */
async function withClient<T>(port: number, work: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1_000,
    enableReadyCheck: false,
  });
  client.on('error', () => {}); // a refusal is an answer here, told by the rejected promise
  try {
    await client.connect();
    return await work(client);
  } finally {
    client.disconnect();
  }
}

async function answers(port: number): Promise<boolean> {
  return withClient(port, async (client) => (await client.ping()) === 'PONG').catch(() => false);
}

function info(port: number, section: string): Promise<string> {
  return withClient(port, (client) => client.info(section)).catch(() => '');
}

function sentinelCommand(port: number, ...args: string[]): Promise<unknown> {
  return withClient(port, (client) => client.call('SENTINEL', ...args));
}

/** A field of a SENTINEL reply entry, which comes as a flat [name, value, name, value, …] list. */
function field(fields: string[], name: string): string {
  const index = fields.indexOf(name);
  return index >= 0 ? (fields[index + 1] ?? '') : '';
}

async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
