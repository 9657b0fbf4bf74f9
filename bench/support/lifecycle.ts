/**
 * What every benchmark orchestrator needs around its `main()`: progress lines on stderr, cleanup of every
 * child, server and temporary directory (also on failure and Ctrl-C), and small waiting helpers.
 */

const cleanups: Array<() => Promise<unknown> | unknown> = [];
let cleaning: Promise<void> | undefined;
let benchName = 'bench';

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([
    promise,
    new Promise<undefined>((done) => setTimeout(() => done(undefined), ms).unref()),
  ]);
}

/** A progress line on stderr (stdout carries only the report). */
export function progress(message: string): void {
  console.error(`[${benchName}] ${message}`);
}

/** Registers something to undo at exit; cleanups run newest first. */
export function onCleanup(cleanup: () => Promise<unknown> | unknown): void {
  cleanups.push(cleanup);
}

/** Runs every cleanup once, newest first; a second caller (Ctrl-C while failing) waits for the first. */
export async function shutdown(code: number): Promise<never> {
  cleaning ??= (async () => {
    for (const cleanup of cleanups.reverse()) {
      await withTimeout(Promise.resolve().then(cleanup), 5_000).catch((error: Error) =>
        console.error(`cleanup: ${error.message}`),
      );
    }
  })();
  await cleaning;
  process.exit(process.exitCode ?? code);
}

/**
 * Runs a benchmark's main(): Ctrl-C and SIGTERM clean up, a failure is printed and exits 1. main() ends by
 * calling shutdown() with its own exit code.
 */
export function runBenchmark(name: string, main: () => Promise<void>): void {
  benchName = name;
  process.on('SIGINT', () => {
    console.error('\ninterrupted; cleaning up');
    process.exitCode = 130;
    void shutdown(130);
  });
  process.on('SIGTERM', () => {
    process.exitCode = 143;
    void shutdown(143);
  });
  main().catch(async (error: Error) => {
    // After Ctrl-C the children are gone and main() fails on that; that is not news.
    if (cleaning === undefined) console.error(`${name} failed: ${error.stack ?? error.message}`);
    await shutdown(1);
  });
}

/** Polls `check` every `everyMs` until it gives a value; throws after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 30_000,
  everyMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
