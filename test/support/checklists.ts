import { type Checklist, type ChecklistInput, checklistSchema } from '../../src/checklists/schema.js';

/** A small checklist for engine and store tests: two phases, an owner, an optional item, a sign-off. */
export function smallChecklist(overrides: Partial<ChecklistInput> = {}): Checklist {
  return checklistSchema.parse({
    id: 'small',
    title: 'Small release',
    phases: [
      {
        id: 'prepare',
        title: 'Prepare',
        items: [
          { id: 'backup', kind: 'manual', title: 'Database backup created', owner: 'dba' },
          { id: 'notes', kind: 'manual', title: 'Release notes written', required: false },
          { id: 'tag', kind: 'manual', title: 'Version tagged' },
        ],
      },
      {
        id: 'ship',
        title: 'Ship',
        items: [
          { id: 'approve', kind: 'signoff', title: 'Tech lead approves', signoff: { role: 'tech-lead' } },
          {
            id: 'error-rate',
            kind: 'check',
            title: 'Error rate < 0.1%',
            check: { type: 'prometheus', query: 'x', comparator: '<', threshold: 0.001, unit: 'ratio' },
          },
        ],
      },
    ],
    ...overrides,
  });
}

/** A checklist with one phase of `count` manual items (for load and concurrency tests). */
export function wideChecklist(count: number, id = 'wide'): Checklist {
  return checklistSchema.parse({
    id,
    title: `${count} items`,
    phases: [
      {
        id: 'all',
        title: 'Everything',
        items: Array.from({ length: count }, (_, index) => ({
          id: `item-${index}`,
          kind: 'manual',
          title: `Item ${index}`,
        })),
      },
    ],
  });
}
