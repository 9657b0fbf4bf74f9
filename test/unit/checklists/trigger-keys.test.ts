import { describe, expect, it } from 'vitest';
import { checklistSchema } from '../../../src/checklists/schema.js';

/**
 * A checklist names rollback triggers with that word: `starts_triggers` on a phase, `triggers` on a wait.
 * The older `starts_guards` and `wait.guards` are still read (checklists written before, and the stored
 * form, which keeps those names), and giving both names for one setting is a mistake said plainly.
 */
function checklist(phase: Record<string, unknown>, wait: Record<string, unknown>) {
  return {
    id: 'c',
    title: 'C',
    phases: [
      {
        id: 'p',
        title: 'P',
        ...phase,
        items: [{ id: 'w', kind: 'wait', title: 'Watch', wait: { duration: '5m', ...wait } }],
      },
    ],
    rollback: {
      triggers: [
        {
          id: 'errors',
          title: 'Errors',
          for: '1m',
          condition: { type: 'http', url: 'http://127.0.0.1:1/health' },
        },
      ],
    },
  };
}

describe('rollback trigger keys in a checklist', () => {
  it('reads starts_triggers and wait.triggers', () => {
    const parsed = checklistSchema.parse(checklist({ starts_triggers: true }, { triggers: ['errors'] }));
    const [phase] = parsed.phases;
    expect(phase?.starts_guards).toBe(true);
    const [item] = phase?.items ?? [];
    expect(item?.kind === 'wait' && item.wait.guards).toEqual(['errors']);
  });

  it('still reads the older starts_guards and wait.guards', () => {
    const parsed = checklistSchema.parse(checklist({ starts_guards: true }, { guards: ['errors'] }));
    const [phase] = parsed.phases;
    expect(phase?.starts_guards).toBe(true);
    const [item] = phase?.items ?? [];
    expect(item?.kind === 'wait' && item.wait.guards).toEqual(['errors']);
  });

  it('refuses both names for one setting', () => {
    const both = checklistSchema.safeParse(
      checklist({ starts_triggers: true, starts_guards: false }, { triggers: ['errors'], guards: [] }),
    );
    expect(both.success).toBe(false);
    const messages = both.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) ?? [];
    expect(messages).toEqual([
      'phases.0.items.0.wait: give `triggers` (its older name `guards` is still read), not both',
      'phases.0: give `starts_triggers` (its older name `starts_guards` is still read), not both',
    ]);
  });
});
