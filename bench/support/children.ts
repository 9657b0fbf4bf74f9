/**
 * Child processes of a benchmark: TypeScript entry points forked with tsx's loader and an IPC channel, so
 * each is one node process (its pid is the one whose CPU we count) that the orchestrator can talk to.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { onCleanup, withTimeout } from './lifecycle.js';
import type { ReadyMessage } from './protocol.js';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface Child {
  process: ChildProcess;
  pid: number;
  /** When it was forked (Date.now()). */
  forkedAt: number;
  /** SIGTERM, then SIGKILL after 6 s; resolves once it has exited. */
  stop(): Promise<void>;
}

export interface ForkOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr go to this file (appended) instead of ours. */
  logFile?: string;
  /** Node options before the script, after tsx's loader (e.g. a preload module). */
  execArgv?: string[];
}

/** Forks a TypeScript entry point (relative to the repository) with an IPC channel; stopped at cleanup. */
export function forkChild(script: string, options: ForkOptions = {}): Child {
  const log = options.logFile ? openSync(options.logFile, 'a') : undefined;
  const child = fork(join(ROOT, script), options.args ?? [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])],
    env: options.env ?? process.env,
    stdio: ['ignore', log ?? 'inherit', log ?? 'inherit', 'ipc'],
  });
  if (log !== undefined) closeSync(log);
  const forkedAt = Date.now();
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (
      (await withTimeout(
        exited.then(() => true),
        6_000,
      )) === undefined
    )
      child.kill('SIGKILL');
    await exited;
  };
  onCleanup(stop);
  return { process: child, pid: child.pid as number, forkedAt, stop };
}

/** Forks a child that announces itself with a `ready` message (its port), and waits for it. */
export async function spawnChild(
  script: string,
  options: ForkOptions = {},
): Promise<Child & { port: number }> {
  const child = forkChild(script, options);
  const ready = await new Promise<ReadyMessage>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${script} did not start within 60 s`)), 60_000);
    const onMessage = (message: ReadyMessage) => {
      if (message?.type !== 'ready') return;
      clearTimeout(timer);
      child.process.off('message', onMessage);
      done(message);
    };
    child.process.on('message', onMessage);
    child.process.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${script} exited with code ${code} before it was ready`));
    });
  });
  return { ...child, port: ready.port };
}

/** Sends a command and waits for the first message `isReply` accepts; fails if the child exits first. */
export function ask<Reply>(
  child: Child,
  command: unknown,
  isReply: (message: unknown) => boolean,
): Promise<Reply> {
  return new Promise((done, fail) => {
    const onExit = (code: number | null) => {
      child.process.off('message', onMessage);
      fail(new Error(`child ${child.pid} exited (code ${code}) before it answered`));
    };
    const onMessage = (message: unknown) => {
      if (!isReply(message)) return;
      child.process.off('message', onMessage);
      child.process.off('exit', onExit);
      done(message as Reply);
    };
    child.process.on('message', onMessage);
    child.process.once('exit', onExit);
    child.process.send(command as object);
  });
}
