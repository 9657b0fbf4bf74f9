import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, serializeError } from '../../../src/observability/logger.js';
import { CodedError, StartupError } from '../../../src/shared/errors.js';
import { TrafficError } from '../../../src/traffic/types.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

describe('logger', () => {
  it('redacts secrets wherever they sit in a structured line', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        token: 'xoxb-111-222-secret',
        config: { botToken: 'xoxb-333', signingSecret: 'shhh', appToken: 'xapp-1-abc' },
        request: { headers: { authorization: 'Bearer xoxb-444' } },
        env: { SLACK_BOT_TOKEN: 'xoxb-555', SLACK_SIGNING_SECRET: 'sig', SLACK_APP_TOKEN: 'xapp-2' },
        page: { routing_key: 'pagerduty-key' },
        service: 'checkout',
      },
      'starting',
    );
    const output = lines.join('');
    for (const secret of [
      'xoxb-111',
      'xoxb-333',
      'shhh',
      'xapp-1-abc',
      'xoxb-444',
      'xoxb-555',
      '"sig"',
      'xapp-2',
      'pagerduty-key',
    ]) {
      expect(output).not.toContain(secret);
    }
    expect(output).toContain('[redacted]');
    expect(JSON.parse(lines[0] as string)).toMatchObject({ service: 'checkout', msg: 'starting' });
  });

  it('scrubs Slack tokens from free text and from errors', () => {
    const { logger, lines } = capture();
    logger.warn('token xoxb-999-888-abc was refused');
    const error = Object.assign(new Error('invalid_auth for xoxb-777-abc'), {
      code: 'slack_webapi_platform_error',
      data: { error: 'invalid_auth' },
    });
    logger.error({ err: serializeError(error) }, 'call failed');
    const output = lines.join('');
    expect(output).not.toContain('xoxb-999');
    expect(output).not.toContain('xoxb-777');
    const parsed = JSON.parse(lines[1] as string);
    expect(parsed.err).toMatchObject({
      type: 'Error',
      code: 'slack_webapi_platform_error',
      slackError: 'invalid_auth',
    });
    expect(parsed.err.at).toMatch(/logger\.test\.ts/);
    expect(parsed.err).not.toHaveProperty('stack');
  });

  it('puts a coded error’s code and area in the line, so logs group by code', () => {
    const { logger, lines } = capture();
    logger.error(
      { err: new TrafficError('conflict', 'Service/web was changed by someone else') },
      'shift failed',
    );
    logger.child({ component: 'redis' }).error(
      {
        err: new StartupError('redis_unreachable', 'cannot reach Redis at 127.0.0.1:1: connection refused'),
      },
      'cannot start',
    );
    logger.warn({ err: serializeError(new CodedError('pager_refused', 'page refused: HTTP 400')) }, 'page');
    const [traffic, startup, pager] = lines.map((line) => JSON.parse(line).err);
    expect(traffic).toMatchObject({
      type: 'TrafficError',
      code: 'conflict',
      area: 'traffic',
      message: 'Service/web was changed by someone else',
    });
    expect(startup).toMatchObject({ type: 'StartupError', code: 'redis_unreachable', area: 'startup' });
    expect(pager).toMatchObject({ type: 'CodedError', code: 'pager_refused', area: 'pager' });
    expect(traffic.at).toMatch(/logger\.test\.ts/);
  });

  it('gives another library’s coded error its code and no area', () => {
    const failure = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(serializeError(failure)).toMatchObject({ type: 'Error', code: 'ECONNREFUSED' });
    expect(serializeError(failure)).not.toHaveProperty('area');
  });
});
