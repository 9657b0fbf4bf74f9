import { createServer } from 'node:net';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { connectOrExplain, redisClient } from '../../../src/redis/connection.js';
import {
  CodedError,
  type CodesOf,
  ERROR_CODES,
  type ErrorCode,
  StartupError,
} from '../../../src/shared/errors.js';
import { TrafficError, type TrafficErrorCode } from '../../../src/traffic/types.js';

describe('CodedError', () => {
  it('carries its code, its area, the message and the cause', () => {
    const cause = new Error('socket hang up');
    const error = new CodedError('pager_unreachable', 'page failed: no answer', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('pager_unreachable');
    expect(error.area).toBe('pager');
    expect(error.message).toBe('page failed: no answer');
    expect(error.cause).toBe(cause);
  });

  it('gives every code exactly one area', () => {
    for (const [code, area] of Object.entries(ERROR_CODES)) {
      expect(['traffic', 'startup', 'pager'], code).toContain(area);
    }
    expectTypeOf<CodesOf<'startup'>>().toEqualTypeOf<'redis_unreachable'>();
    expectTypeOf<CodesOf<'pager'>>().toEqualTypeOf<
      'pager_refused' | 'pager_unreachable' | 'pager_misconfigured'
    >();
    expectTypeOf<CodesOf<'traffic' | 'startup' | 'pager'>>().toEqualTypeOf<ErrorCode>();
  });

  it('is ready for a subclass that takes only its own area’s codes (the pager’s, here)', () => {
    class PagerError extends CodedError<CodesOf<'pager'>> {
      override readonly name = 'PagerError';
    }
    const error = new PagerError('pager_refused', 'page refused: HTTP 400');
    expect(error).toBeInstanceOf(CodedError);
    expect([error.name, error.code, error.area]).toEqual(['PagerError', 'pager_refused', 'pager']);
    // @ts-expect-error a traffic code is not a pager code
    void new PagerError('conflict', 'wrong area');
  });
});

describe('TrafficError', () => {
  it('is a CodedError whose codes are exactly the traffic area’s, as before', () => {
    expectTypeOf<CodesOf<'traffic'>>().toEqualTypeOf<TrafficErrorCode>();
    const error = new TrafficError('conflict', 'Service/web was changed by someone else');
    expect(error).toBeInstanceOf(CodedError);
    expect([error.name, error.code, error.area, error.retryable]).toEqual([
      'TrafficError',
      'conflict',
      'traffic',
      true,
    ]);
    expect(error).not.toHaveProperty('cause');
    expect(new TrafficError('unknown', 'outcome unknown', { cause: 'reset' }).cause).toBe('reset');
  });
});

describe('StartupError', () => {
  it('is what connectOrExplain throws when Redis cannot be reached at start', async () => {
    // A port that was free a moment ago: nothing listens there now.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));

    const redis = redisClient({ url: `redis://127.0.0.1:${port}` }, 'startup-test', 'state');
    const error = await connectOrExplain(redis, `127.0.0.1:${port}`, 2_000).catch((failure) => failure);
    expect(error).toBeInstanceOf(StartupError);
    expect([error.name, error.code, error.area]).toEqual(['StartupError', 'redis_unreachable', 'startup']);
    expect(error.message).toBe(
      `cannot reach Redis at 127.0.0.1:${port}: connection refused: nothing listens there (is Redis running?)`,
    );
  });
});
