import { afterAll, describe, expect, it } from 'vitest';
import { decodeAuditEvent, encodeAuditEvent } from '../../../src/deployments/audit-codec.js';
import type { DeploymentEvent } from '../../../src/deployments/engine.js';
import { BOT_ACTOR } from '../../../src/deployments/model.js';
import { connectTestRedis, uniquePrefix } from '../../support/redis.js';

const redis = connectTestRedis();
afterAll(() => redis.quit());

const at = 1_763_913_609_123;
const requested = (actor: string): DeploymentEvent => ({
  type: 'check.requested',
  at,
  actor,
  phaseId: 'verify',
  itemId: 'error-rate',
  run: 3,
});
const completed = (result: Record<string, unknown>): DeploymentEvent =>
  ({
    type: 'check.completed',
    at,
    actor: BOT_ACTOR,
    phaseId: 'verify',
    itemId: 'error-rate',
    run: 3,
    outcome: 'failed',
    result: { outcome: 'failed', attempts: 2, durationMs: 412, at, ...result },
  }) as DeploymentEvent;

/** Through a real stream entry and back, as the store writes and reads it. */
async function roundTrip(event: DeploymentEvent): Promise<{ fields: string[]; back: DeploymentEvent }> {
  const key = `${uniquePrefix('codec')}:audit`;
  const fields = encodeAuditEvent(event);
  await redis.xadd(key, '*', ...fields);
  const [[, stored] = ['', []]] = await redis.xrange(key, '-', '+');
  return { fields, back: decodeAuditEvent(stored) };
}

describe('audit stream layout', () => {
  it('stores check runs as stream fields without what is derivable, and reads them back whole', async () => {
    const cases = [
      requested(BOT_ACTOR),
      requested('U0DEPLOYER'),
      completed({ summary: 'error rate 0.04% > 0.01%', value: 0.0004, unit: 'ratio', detail: 'by pod…' }),
      completed({ summary: 'connected to 127.0.0.1:4000 in 1 ms', value: 1, unit: 'ms' }),
      completed({ summary: 'timed out after 5s', value: -0.5 }),
      completed({ summary: 'no data' }),
    ];
    for (const event of cases) {
      const { fields, back } = await roundTrip(event);
      expect(back).toEqual(event);
      expect(fields.slice(0, 2)).toEqual([event.type, 'error-rate']);
      // Flightdeck is the actor unless the fields say otherwise; outcome and time appear once.
      expect(fields.includes('by')).toBe(event.actor !== BOT_ACTOR);
      expect(fields.filter((field) => field === 'failed').length).toBe(
        event.type === 'check.completed' ? 1 : 0,
      );
      expect(fields.filter((field) => field === String(at))).toHaveLength(1);
    }
  });

  it('keeps as JSON whatever the field layout cannot hold exactly', async () => {
    const cases: DeploymentEvent[] = [
      { type: 'deployment.paused', at, actor: 'U0DEPLOYER' },
      // The run's outcome or time differ from the event's: both must survive.
      { ...completed({ summary: 'x' }), outcome: 'passed' } as DeploymentEvent,
      completed({ summary: 'x', at: at + 1 }),
      // A measurement that is not a plain number, and a field the layout does not name.
      completed({ summary: 'x', value: Number.NaN }),
      completed({ summary: 'x', value: -0 }),
      completed({ summary: 'x', extra: { pods: 3 } }),
    ];
    for (const event of cases) {
      const { fields, back } = await roundTrip(event);
      expect(fields[0]).toBe('event');
      expect(back).toEqual(JSON.parse(JSON.stringify(event)));
    }
  });

  it('treats a key holding undefined as absent, as JSON does', async () => {
    const event = completed({ summary: 'x', value: undefined, detail: undefined });
    const { fields, back } = await roundTrip(event);
    expect(fields[0]).toBe('check.completed');
    expect(back).toEqual(JSON.parse(JSON.stringify(event)));
  });

  it('names the entry when it holds neither', () => {
    expect(() => decodeAuditEvent(['type', 'nonsense'])).toThrow(/neither an event nor a check run/);
  });
});
