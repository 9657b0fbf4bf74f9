import { describe, expect, it } from 'vitest';
import { parseDeployCommand, USAGE } from '../../../src/slack/commands/parse.js';

describe('parseDeployCommand', () => {
  it.each([
    ['start checkout 1.4.2', { type: 'start', service: 'checkout', version: '1.4.2' }],
    [
      '  start   checkout   v2.0.0-rc.1+build.7  ',
      { type: 'start', service: 'checkout', version: 'v2.0.0-rc.1+build.7' },
    ],
    [
      'start checkout 1.4.2 canary-release',
      { type: 'start', service: 'checkout', version: '1.4.2', checklistId: 'canary-release' },
    ],
    ['START checkout 9f2c1ab', { type: 'start', service: 'checkout', version: '9f2c1ab' }],
    ['status', { type: 'status' }],
    ['status checkout', { type: 'status', service: 'checkout' }],
    [
      'abort checkout wrong build tagged',
      { type: 'abort', service: 'checkout', reason: 'wrong build tagged' },
    ],
    ['report', { type: 'report' }],
    ['report checkout', { type: 'report', target: 'checkout' }],
    ['REPORT dm3x9k2a1b2c3', { type: 'report', target: 'dm3x9k2a1b2c3' }],
    ['history checkout', { type: 'history', service: 'checkout' }],
    ['', { type: 'help' }],
    ['help', { type: 'help' }],
  ])('%j', (text, expected) => {
    expect(parseDeployCommand(text)).toEqual(expected);
  });

  it.each([
    ['launch checkout 1.0', /Unknown subcommand "launch"/],
    ['start', /needs a service and a version/],
    ['start checkout', /needs a version/],
    ['start checkout 1.0 <script>', /not a checklist id/],
    ['start checkout <!channel>', /not a version/],
    ['start Checkout! 1.0', /not a service name/],
    ['start checkout 1.0 list extra', /Unexpected "extra"/],
    ['abort checkout', /needs a reason/],
    ['status a b', /at most one service/],
    ['report a b', /at most one service name or deployment id/],
    ['report <!here>', /not a service name or deployment id/],
    ['history', /`history` needs a service/],
    ['history checkout 20', /takes one service name/],
    ['history Checkout!', /not a service name/],
  ])('%j is refused with a reason', (text, message) => {
    const parsed = parseDeployCommand(text);
    expect(parsed.type).toBe('invalid');
    expect(parsed.type === 'invalid' && parsed.message).toMatch(message);
  });

  it('lists every subcommand in the help', () => {
    for (const sub of [
      'start',
      'status',
      'report',
      'history',
      'traffic',
      'rollback',
      'pause',
      'abort',
      'help',
    ])
      expect(USAGE).toContain(`\`/deploy ${sub}`);
  });
});
