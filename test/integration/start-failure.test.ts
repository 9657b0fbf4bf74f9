import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/sandbox/infra/redis-server.js';

/**
 * `npm start` against a Redis that is not there: the person reads the cause on stderr, and the log (what a
 * platform collects) carries it as a structured line with the error's code, so alerts can match it.
 */
const run = promisify(execFile);

describe('a bot that cannot start', () => {
  it('says why on stderr and logs it once with its code, then exits 1', async () => {
    const port = await freePort(); // reserved and closed again: nothing listens there
    const failed = await run(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        PATH: process.env.PATH,
        SLACK_BOT_TOKEN: 'xoxb-start-failure-test',
        SLACK_SIGNING_SECRET: 'start-failure-signing-secret',
        REDIS_URL: `redis://127.0.0.1:${port}`,
        FLIGHTDECK_CONFIG: 'flightdeck.yaml',
      },
      timeout: 60_000,
    }).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain(
      `Flightdeck cannot start: cannot reach Redis at redis://127.0.0.1:${port}: connection refused`,
    );
    const lines = (failed?.stdout ?? '')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map(
        (line) => JSON.parse(line) as { level: number; msg: string; err?: { code?: string; area?: string } },
      );
    const fatal = lines.filter((line) => line.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({
      msg: 'cannot start',
      err: { code: 'redis_unreachable', area: 'startup' },
    });
  }, 90_000);
});
