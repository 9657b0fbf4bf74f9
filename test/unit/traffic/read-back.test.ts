import { describe, expect, it } from 'vitest';
import { showsTarget } from '../../../src/traffic/index.js';

/** After a write whose outcome was unknown, a read decides whether the operation took. */

const template = (image: string, hash?: string) => ({
  metadata: { labels: { app: 'api', ...(hash ? { 'pod-template-hash': hash } : {}) } },
  spec: { containers: [{ name: 'app', image }] },
});

describe('showsTarget', () => {
  it('compares the slot, or the canary weight', () => {
    const green = { slot: 'green' as const, description: 'green live' };
    expect(showsTarget(green, { slot: 'green' })).toBe(true);
    expect(showsTarget(green, { slot: 'blue' })).toBe(false);
    const at50 = { weight: 50, description: 'canary 50%' };
    expect(showsTarget(at50, { weight: 50 })).toBe(true);
    expect(showsTarget(at50, { weight: 0 })).toBe(false);
    expect(showsTarget({ description: 'no slot selected' }, { slot: 'blue' })).toBe(false);
  });

  it('a rolling rollback by its recorded pod template: the undo renumbers the revision', () => {
    const recorded = { revision: 1, image: 'api:1.4.1', template: template('api:1.4.1') };
    const undone = {
      revision: 3,
      image: 'api:1.4.1',
      template: template('api:1.4.1', '5d8f'),
      description: '',
    };
    expect(showsTarget(undone, recorded)).toBe(true);
    const still = { revision: 2, image: 'api:1.4.2', template: template('api:1.4.2'), description: '' };
    expect(showsTarget(still, recorded)).toBe(false);
    // Without a recorded template (older deployments): the image.
    expect(showsTarget(undone, { revision: 1, image: 'api:1.4.1' })).toBe(true);
    expect(showsTarget(still, { revision: 1, image: 'api:1.4.1' })).toBe(false);
  });
});
