import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import type { Logger } from './logger.js';

/** Bolt's logger interface on top of pino, so Bolt's own messages come out structured and redacted. */
export function boltLogger(logger: Logger): SlackLogger {
  const child = logger.child({ component: 'bolt' });
  const text = (parts: unknown[]) =>
    parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' ');
  let level = LogLevel.INFO;
  return {
    debug: (...parts) => child.debug(text(parts)),
    info: (...parts) => child.info(text(parts)),
    warn: (...parts) => child.warn(text(parts)),
    error: (...parts) => child.error(text(parts)),
    setLevel: (next) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
