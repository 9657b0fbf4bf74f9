import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { importRunbook } from '../../../src/checklists/importer.js';
import { parseChecklist } from '../../../src/checklists/loader.js';
import { type ChecklistInput, idSchema } from '../../../src/checklists/schema.js';

type PhaseInput = ChecklistInput['phases'][number];
type ItemInput = PhaseInput['items'][number];

function md(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

function items(checklist: ChecklistInput): ItemInput[] {
  return checklist.phases.flatMap((phase) => phase.items);
}

function titles(checklist: ChecklistInput): string[] {
  return items(checklist).map((item) => item.title);
}

function phaseTitles(checklist: ChecklistInput): string[] {
  return checklist.phases.map((phase) => phase.title);
}

/** The import must always be a valid checklist as it stands. */
function expectValid(checklist: ChecklistInput): void {
  const parsed = parseChecklist(stringify(checklist), 'test.yaml');
  expect(parsed.ok ? [] : parsed.problems).toEqual([]);
}

describe('importRunbook: checkbox lines', () => {
  it('turns each bullet checkbox (-, *, +; checked or not) into one manual item', () => {
    const { checklist, stats } = importRunbook(
      md('## Prep', '- [ ] Backup created', '- [x] Team notified', '* [ ] Tag pushed', '+ [X] Images built'),
    );
    expect(titles(checklist)).toEqual(['Backup created', 'Team notified', 'Tag pushed', 'Images built']);
    expect(items(checklist).every((item) => item.kind === 'manual')).toBe(true);
    expect(stats.checkboxes).toBe(4);
    expect(stats.items).toBe(4);
    expectValid(checklist);
  });

  it('turns numbered checkboxes into items', () => {
    const { checklist, stats } = importRunbook(
      md(
        '## Manual Rollback Steps',
        '1. [ ] Identify the issue',
        '2. [ ] Execute rollback',
        '3. [x] Verify rollback success',
      ),
    );
    expect(titles(checklist)).toEqual(['Identify the issue', 'Execute rollback', 'Verify rollback success']);
    expect(stats.checkboxes).toBe(3);
  });

  it('reads checkbox lines inside a plain code fence, in order', () => {
    const { checklist, stats } = importRunbook(
      md(
        '### Deployment Steps',
        '```',
        '1. [ ] Deploy to canary (5% traffic)',
        '2. [ ] Monitor canary for 10 minutes',
        'not a checkbox line',
        '3. [ ] If healthy, expand to 100%',
        '```',
      ),
    );
    expect(titles(checklist)).toEqual([
      'Deploy to canary (5% traffic)',
      'Monitor canary for 10 minutes',
      'If healthy, expand to 100%',
    ]);
    expect(stats.checkboxes).toBe(3);
    expect(checklist.phases[0]?.commands).toBeUndefined();
  });

  it('keeps a fence with a language as commands even if a line looks like a checkbox', () => {
    const { checklist, stats } = importRunbook(
      md('## Deploy', '- [ ] Deployed', '', '```bash', '- [ ] echo not-an-item', 'kubectl get pods', '```'),
    );
    expect(titles(checklist)).toEqual(['Deployed']);
    expect(stats.checkboxes).toBe(1);
    expect(checklist.phases[0]?.commands).toEqual(['- [ ] echo not-an-item\nkubectl get pods']);
  });

  it("makes each nested checkbox its own item and keeps nested prose as the parent item's notes", () => {
    const { checklist } = importRunbook(
      md('## Deploy', '- [ ] Deploy the app', '  - [ ] Deploy the worker', '  - remember the cron job'),
    );
    expect(titles(checklist)).toEqual(['Deploy the app', 'Deploy the worker']);
    expect(items(checklist)[0]?.notes).toBe('- remember the cron job');
  });

  it('marks lines the runbook calls conditional as not required', () => {
    const { checklist } = importRunbook(
      md(
        '## Security',
        '- [ ] API keys rotated (if applicable)',
        '- [ ] CDN configured if needed',
        '- [ ] Secrets stored',
      ),
    );
    expect(items(checklist).map((item) => item.required)).toEqual([false, false, undefined]);
  });
});

describe('importRunbook: signature lines', () => {
  it('turns "**Signature:** ___ **Date:** ___" into a sign-off for the heading\'s role', () => {
    const { checklist, stats } = importRunbook(
      md(
        '## Sign-off',
        '### Technical Lead',
        '- [ ] Tests are passing',
        '',
        '**Signature:** _________________ **Date:** _________',
        '',
        '### Product Owner',
        '**Signature:** _________________ **Date:** _________',
      ),
    );
    const [testsPassing, techLead, productOwner] = items(checklist);
    expect(testsPassing).toMatchObject({ title: 'Tests are passing', kind: 'manual' });
    expect(techLead).toMatchObject({
      kind: 'signoff',
      title: 'Technical Lead sign-off',
      signoff: { role: 'technical-lead' },
    });
    expect(productOwner).toMatchObject({ kind: 'signoff', signoff: { role: 'product-owner' } });
    expect(stats).toMatchObject({ checkboxes: 1, signoffs: 2, items: 3 });
    expectValid(checklist);
  });

  it('turns "- [ ] Lead Developer: ___ Date: ___" into exactly one sign-off item', () => {
    const { checklist, stats } = importRunbook(
      md(
        '### Development Team',
        '- [ ] Lead Developer: _________________________ Date: ________',
        '- [ ] QA Lead: ___________',
      ),
    );
    expect(items(checklist)).toEqual([
      expect.objectContaining({
        kind: 'signoff',
        title: 'Lead Developer sign-off',
        signoff: { role: 'lead-developer' },
      }),
      expect.objectContaining({ kind: 'signoff', signoff: { role: 'qa-lead' } }),
    ]);
    expect(stats).toMatchObject({ checkboxes: 2, signoffs: 2, items: 2 });
  });

  it('does not treat fill-in blanks that name no signer as sign-offs', () => {
    const { checklist, stats } = importRunbook(
      md(
        '## Metrics',
        '- **Deployment Duration:** _____ minutes',
        '',
        '## Steps',
        '- [ ] Deployment Duration recorded',
      ),
    );
    expect(stats.signoffs).toBe(0);
    expect(titles(checklist)).toEqual(['Deployment Duration recorded']);
  });
});

describe('importRunbook: commands', () => {
  it('moves inline code that stands apart into commands and keeps the readable title', () => {
    const { checklist } = importRunbook(
      md(
        '## Checks',
        '- [ ] Run deployment tests: `go test ./deployments/tests/...`',
        '- [ ] All tests passing (`npm test`)',
        '- [ ] **Validate** the *manifests*: `kubectl apply --dry-run=client -f k8s/`',
      ),
    );
    expect(items(checklist).map(({ title, commands }) => ({ title, commands }))).toEqual([
      { title: 'Run deployment tests', commands: ['go test ./deployments/tests/...'] },
      { title: 'All tests passing', commands: ['npm test'] },
      { title: 'Validate the manifests', commands: ['kubectl apply --dry-run=client -f k8s/'] },
    ]);
  });

  it('keeps inline code that is part of the sentence in the title', () => {
    const { checklist } = importRunbook(
      md('## Env', '- [ ] `.env.production` created from `.env.production.example`'),
    );
    expect(items(checklist)[0]).toMatchObject({
      title: '.env.production created from .env.production.example',
    });
    expect(items(checklist)[0]?.commands).toBeUndefined();
  });

  it('attaches fenced code to its phase, or to the item it is nested under', () => {
    const { checklist, stats } = importRunbook(
      md(
        '### Phase 1: Pre-Deployment',
        '```bash',
        'npm run deploy:validate',
        '```',
        '**Checklist**:',
        '- [ ] Validator passed',
        '- [ ] Backup created',
        '  ```bash',
        '  npm run db:backup',
        '  ```',
        '### Validation Commands',
        '```bash',
        'curl -f https://example.com/health',
        '```',
      ),
    );
    const [phase] = checklist.phases;
    expect(phase?.commands).toEqual(['npm run deploy:validate']);
    expect(phase?.notes).toBeUndefined();
    expect(phase?.items[1]).toMatchObject({ title: 'Backup created', commands: ['npm run db:backup'] });
    // The last heading has no items, so its code has nowhere to go; the stats say so.
    expect(checklist.phases).toHaveLength(1);
    expect(stats.unattachedCommands).toBe(1);
  });
});

describe('importRunbook: what is never an item', () => {
  it('ignores tables, links, prose and plain numbered steps', () => {
    const { checklist, stats } = importRunbook(
      md(
        '## Troubleshooting',
        '### Deployment Fails',
        '**Symptoms**: Helm upgrade fails',
        '',
        '**Resolution**:',
        '1. Check Helm chart syntax: `helm lint ./helm/azora`',
        '2. Rollback: `helm rollback azora-prod 1`',
        '',
        '| Role | Name |',
        '|------|------|',
        '| On-Call Engineer | [Name] |',
        '',
        '## Related Documents',
        '- [Deployment Guide](./DEPLOYMENT.md)',
        '- [Runbooks](./RUNBOOKS.md)',
        '',
        '## Rollback if',
        '- Error rate > 5% for > 5 minutes',
        '',
        '## Steps',
        'Some prose about the steps.',
        '- [ ] The only item',
      ),
    );
    expect(titles(checklist)).toEqual(['The only item']);
    expect(phaseTitles(checklist)).toEqual(['Steps']);
    expect(checklist.phases[0]?.notes).toBe('Some prose about the steps.');
    expect(stats).toMatchObject({ checkboxes: 1, signoffs: 0, items: 1 });
  });

  it("does not take a footer after a rule as the last section's notes", () => {
    const { checklist } = importRunbook(
      md(
        '## Rollback Scenario',
        'If deployment fails:',
        '1. [ ] Trigger rollback',
        '',
        '---',
        'Version: 1.0.0',
      ),
    );
    expect(checklist.phases[0]?.notes).toBe('If deployment fails:');
  });
});

describe('importRunbook: phases', () => {
  it('flattens nested headings into one phase title and skips headings without items', () => {
    const { checklist, stats } = importRunbook(
      md(
        '# Production Deployment Checklist',
        'Ensures all requirements are met.',
        '## Overview',
        'Prose only.',
        '## Pre-Deployment Checks (48 hours before)',
        '### Code Quality',
        '- [ ] All tests passing',
        '### Security',
        '#### Secrets',
        '- [ ] Secrets rotated',
        '## Deployment Execution',
        '- [ ] Deployed',
      ),
    );
    expect(checklist.title).toBe('Production Deployment Checklist');
    expect(checklist.id).toBe('production-deployment-checklist');
    expect(checklist.description).toBe('Ensures all requirements are met.');
    expect(phaseTitles(checklist)).toEqual([
      'Pre-Deployment Checks (48 hours before) › Code Quality',
      'Pre-Deployment Checks (48 hours before) › Security › Secrets',
      'Deployment Execution',
    ]);
    expect(stats.phases).toEqual([
      { id: 'code-quality', title: 'Pre-Deployment Checks (48 hours before) › Code Quality', items: 1 },
      { id: 'secrets', title: 'Pre-Deployment Checks (48 hours before) › Security › Secrets', items: 1 },
      { id: 'deployment-execution', title: 'Deployment Execution', items: 1 },
    ]);
  });

  it('treats a bold list label over checkboxes as a sub-heading', () => {
    const { checklist } = importRunbook(
      md(
        '## 📋 Deployment Procedure',
        '### 🚦 Deployment Steps',
        '',
        '1. **Pre-Deployment**',
        '   - [ ] Notify all stakeholders',
        '   - [ ] Create final backup',
        '',
        '2. **Deployment Execution**',
        '   - [ ] Deploy application updates',
      ),
    );
    expect(checklist.phases.map((phase) => [phase.title, phase.items.map((item) => item.title)])).toEqual([
      [
        'Deployment Procedure › Deployment Steps › Pre-Deployment',
        ['Notify all stakeholders', 'Create final backup'],
      ],
      ['Deployment Procedure › Deployment Steps › Deployment Execution', ['Deploy application updates']],
    ]);
  });

  it('uses the id it is given and records the source', () => {
    const { checklist } = importRunbook(md('## A', '- [ ] a'), {
      id: 'canary-release',
      source: 'seeds/003.md',
    });
    expect(checklist).toMatchObject({ id: 'canary-release', source: 'seeds/003.md' });
  });
});

describe('importRunbook: ids', () => {
  it('gives unique, schema-valid ids to repeated titles and headings', () => {
    const { checklist } = importRunbook(
      md(
        '## Pre-Deployment',
        '### Documentation',
        '- [ ] Team notified',
        '- [ ] Team notified',
        '## Post-Deployment',
        '### Documentation',
        '- [ ] Team notified',
        `- [ ] ${'Very long item title '.repeat(25)}`,
        '- [ ] ¡Ünïcödé — only! ✅',
        '- [ ] 🎉',
      ),
    );
    const itemIds = items(checklist).map((item) => item.id);
    const phaseIds = checklist.phases.map((phase) => phase.id);
    expect(itemIds.slice(0, 3)).toEqual(['team-notified', 'team-notified-2', 'team-notified-3']);
    expect(phaseIds).toEqual(['documentation', 'post-deployment.documentation']);
    expect(new Set(itemIds).size).toBe(itemIds.length);
    for (const id of [...itemIds, ...phaseIds]) expect(idSchema.safeParse(id).success, id).toBe(true);
    expect(items(checklist)[3]?.title.length).toBeLessThanOrEqual(300);
    expect(items(checklist)[4]?.id).toBe('unicode-only');
    expectValid(checklist);
  });

  it('gives the same ids for the same runbook', () => {
    const runbook = md('## A', '- [ ] x', '- [ ] x', '## A', '- [ ] y');
    expect(importRunbook(runbook)).toEqual(importRunbook(runbook));
  });
});

describe('importRunbook: any input', () => {
  const line = fc.oneof(
    fc.string().map((text) => `- [ ] ${text}`),
    fc.string().map((text) => `1. [x] ${text}`),
    fc.string().map((text) => `## ${text}`),
    fc.string().map((text) => `- ${text}`),
    fc.string(),
    fc.constantFrom(
      '```',
      '```bash',
      '---',
      '**Signature:** ____ **Date:** ___',
      '- [ ] Ops Lead: _____ Date: ___',
    ),
  );

  it('never throws and, when it finds items, yields a valid checklist with one item per checkbox', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), (lines) => {
        const { checklist, stats } = importRunbook(lines.join('\n'));
        expect(stats.items).toBe(items(checklist).length);
        expect(stats.items).toBeGreaterThanOrEqual(stats.checkboxes);
        if (stats.items > 0) {
          const parsed = parseChecklist(stringify(checklist), 'property.yaml');
          expect(parsed.ok ? [] : parsed.problems).toEqual([]);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('importRunbook: nothing is left out silently', () => {
  it('lists every checkbox line it did not import, with its line number and why', () => {
    const { checklist, notImported } = importRunbook(
      md(
        '## Deploy',
        '- [ ] Deployed',
        '',
        '```bash',
        '- [ ] echo not-an-item',
        '```',
        '<details>',
        '- [ ] Hidden in HTML',
        '</details>',
        '',
        '- [ ]',
      ),
    );
    expect(titles(checklist)).toEqual(['Deployed']);
    expect(notImported).toEqual([
      { line: 5, text: '- [ ] echo not-an-item', why: expect.stringContaining('```bash') },
      { line: 8, text: '- [ ] Hidden in HTML', why: expect.stringContaining('HTML') },
      { line: 11, text: '- [ ]', why: 'a checkbox with no text' },
    ]);
  });

  it('imports [x] items open and lists them as pre-checked', () => {
    const { checklist, preChecked } = importRunbook(
      md('## Prep', '- [x] Backup taken', '- [ ] Team notified', '1. [X] Tag pushed'),
    );
    expect(titles(checklist)).toEqual(['Backup taken', 'Team notified', 'Tag pushed']);
    expect(items(checklist).every((item) => item.kind === 'manual')).toBe(true);
    expect(preChecked).toEqual([
      { line: 2, id: 'backup-taken', title: 'Backup taken' },
      { line: 4, id: 'tag-pushed', title: 'Tag pushed' },
    ]);
  });

  it('says which line each item came from', () => {
    const { itemLines } = importRunbook(md('## A', '', '- [ ] a', '  - [ ] b', '', '```', '[ ] c', '```'));
    expect(itemLines).toEqual([
      { id: 'a', line: 3 },
      { id: 'b', line: 4 },
      { id: 'c', line: 7 },
    ]);
  });
});

describe('importRunbook: every checkbox line is accounted for', () => {
  const words = fc
    .array(
      fc.constantFrom(
        'backup',
        'Deploy',
        'the',
        'api',
        'Vérifier',
        'проверка',
        '`kubectl get pods`',
        '**now**',
        '5%',
      ),
      { minLength: 1, maxLength: 5 },
    )
    .map((parts) => parts.join(' '));
  const box = fc.constantFrom('[ ]', '[x]', '[X]');

  /** A run of Markdown lines and which of them are checkbox lines. */
  interface Block {
    lines: string[];
    boxes: number[];
  }
  const block = (lines: string[], boxes: number[] = []): Block => ({ lines, boxes });
  const container = fc.oneof(
    fc
      .tuple(fc.constantFrom('-', '*', '+'), box, words)
      .map(([marker, b, t]) => block([`${marker} ${b} ${t}`], [0])),
    fc.tuple(fc.nat(20), box, words).map(([n, b, t]) => block([`${n + 1}. ${b} ${t}`], [0])),
    fc
      .tuple(box, words, box, words)
      .map(([b1, t1, b2, t2]) => block([`- ${b1} ${t1}`, `  - ${b2} ${t2}`], [0, 1])),
    fc.tuple(box, words).map(([b, t]) => block([`${b} ${t}`], [0])),
    fc.tuple(box, words).map(([b, t]) => block([`> - ${b} ${t}`], [0])),
    fc.tuple(box, words).map(([b, t]) => block([`> ${b} ${t}`], [0])),
    fc.tuple(box, words).map(([b, t]) => block(['```', `${b} ${t}`, '```'], [1])),
    fc.tuple(box, words).map(([b, t]) => block(['```text', `1. ${b} ${t}`, '```'], [1])),
    fc.tuple(box, words).map(([b, t]) => block(['```bash', `- ${b} ${t}`, '```'], [1])),
    fc.tuple(box, words).map(([b, t]) => block(['| Step | Done |', '| --- | --- |', `| ${t} | ${b} |`], [2])),
    fc
      .tuple(box, words)
      .map(([b, t]) => block(['| Task | Owner |', '|---|---|', `| ${b} ${t} | dba |`], [2])),
    fc.tuple(box, words).map(([b, t]) => block(['<details>', `- ${b} ${t}`, '</details>'], [1])),
    words.map((t) => block([`## ${t}`])),
    words.map((t) => block([t])),
    words.map((t) => block([`- ${t}`])),
  );

  it('for N checkbox lines in random containers, has an item for each or lists it as not imported', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(container, fc.boolean()), { maxLength: 12 }), (blocks) => {
        const lines: string[] = [];
        const boxLines: number[] = [];
        for (const [{ lines: blockLines, boxes }, blankAfter] of blocks) {
          for (const index of boxes) boxLines.push(lines.length + index + 1);
          lines.push(...blockLines);
          // Without a blank line, blocks run into each other (lazy continuation, tables after lists…).
          if (blankAfter) lines.push('');
        }
        const { checklist, itemLines, notImported } = importRunbook(lines.join('\n'));
        const imported = new Set(itemLines.map((source) => source.line));
        const listed = new Set(notImported.map((lost) => lost.line));
        const fromBoxes = boxLines.filter((line) => imported.has(line)).length;
        const notFromBoxes = boxLines.filter((line) => listed.has(line)).length;
        expect(fromBoxes + notFromBoxes).toBe(boxLines.length);
        expect([...imported].filter((line) => listed.has(line))).toEqual([]);
        if (items(checklist).length > 0) expectValid(checklist);
      }),
      { numRuns: 300 },
    );
  });
});

describe('importRunbook: bare checkbox lines', () => {
  it('reads bare "[ ] …" lines in a plain fence, so the phase and its commands survive', () => {
    const { checklist, stats, notImported } = importRunbook(
      md(
        '## Deployment',
        '```',
        '[ ] Scale down the workers',
        '[x] Apply the migration',
        '[ ] Roll out the new image',
        '```',
        '```bash',
        'kubectl -n shop scale deploy/worker --replicas=0',
        'kubectl -n shop rollout status deploy/checkout',
        '```',
      ),
    );
    expect(checklist.phases).toEqual([
      {
        id: 'deployment',
        title: 'Deployment',
        commands: [
          'kubectl -n shop scale deploy/worker --replicas=0\nkubectl -n shop rollout status deploy/checkout',
        ],
        items: [
          { id: 'scale-down-the-workers', title: 'Scale down the workers', kind: 'manual' },
          { id: 'apply-the-migration', title: 'Apply the migration', kind: 'manual' },
          { id: 'roll-out-the-new-image', title: 'Roll out the new image', kind: 'manual' },
        ],
      },
    ]);
    expect(stats.unattachedCommands).toBe(0);
    expect(notImported).toEqual([]);
  });

  it('reads checkbox lines in paragraphs and block quotes, bare or listed', () => {
    const { checklist, notImported } = importRunbook(
      md(
        '## Before',
        'Do these first:',
        '[ ] Freeze merges',
        '[ ] Announce in #deploys',
        '',
        '> **Note:** the release manager ticks these.',
        '> - [ ] Quoted list item',
        '> [ ] Quoted bare line',
        '',
        '☐ Ballot box line',
      ),
    );
    expect(titles(checklist)).toEqual([
      'Freeze merges',
      'Announce in #deploys',
      'Quoted list item',
      'Quoted bare line',
      'Ballot box line',
    ]);
    expect(checklist.phases[0]?.notes).toBe('Do these first:\n\nNote: the release manager ticks these.');
    expect(notImported).toEqual([]);
  });
});

describe('importRunbook: tables', () => {
  it('turns each checkbox cell into an item titled by its row, with the other cells as notes', () => {
    const { checklist, preChecked, notImported } = importRunbook(
      md(
        '## Pre-flight',
        '| # | Step | Owner | Done |',
        '|---|------|-------|:----:|',
        '| 1 | Database backup taken | DBA | [ ] |',
        '| 2 | Feature flag `checkout_v2` off | Dev | [x] |',
        '',
        '| Task | Command |',
        '| --- | --- |',
        '| [ ] Caches warmed | `make warm-cache` |',
      ),
    );
    expect(items(checklist)).toEqual([
      { id: 'database-backup-taken', title: 'Database backup taken', kind: 'manual', notes: 'Owner: DBA' },
      {
        id: 'feature-flag-checkout-v2-off',
        title: 'Feature flag checkout_v2 off',
        kind: 'manual',
        notes: 'Owner: Dev',
      },
      { id: 'caches-warmed', title: 'Caches warmed', kind: 'manual', commands: ['make warm-cache'] },
    ]);
    expect(preChecked.map((item) => item.line)).toEqual([5]);
    expect(notImported).toEqual([]);
  });

  it('makes one item per checkbox column', () => {
    const { checklist } = importRunbook(
      md(
        '## Verify',
        '| Check | Staging | Production |',
        '|---|---|---|',
        '| Smoke tests pass | [ ] | [ ] |',
      ),
    );
    expect(titles(checklist)).toEqual(['Smoke tests pass (Staging)', 'Smoke tests pass (Production)']);
  });

  it('writes a key | value table as readable lines, not a pipe string', () => {
    const { checklist } = importRunbook(
      md(
        '# Checkout deploy',
        '| Field | Value |',
        '|-------|-------|',
        '| **Service** | checkout |',
        '| Owner | Payments team |',
        '| Pager | `#payments-oncall` |',
        '',
        '## Steps',
        '- [ ] Deploy',
      ),
    );
    expect(checklist.description).toBe('Service: checkout\nOwner: Payments team\nPager: #payments-oncall');
  });

  it('writes a wider reference table as one line per row', () => {
    const { checklist } = importRunbook(
      md(
        '## Contacts',
        '| Role | Name | Phone |',
        '|------|------|-------|',
        '| Deployment lead | Ana Ruiz | 555-0100 |',
        '| DBA | | 555-0101 |',
        '- [ ] Contacts confirmed',
      ),
    );
    expect(checklist.phases[0]?.notes).toBe(
      'Deployment lead — Name: Ana Ruiz; Phone: 555-0100\nDBA — Phone: 555-0101',
    );
  });
});

describe('importRunbook: sign-offs', () => {
  const roles = ['tech-lead', 'service-owner', 'qa-lead', 'security', 'devops'];

  it('turns "Approved by (Role): ____ Date: ____" into a sign-off for that role', () => {
    const { checklist, unknownRoles } = importRunbook(
      md(
        '## Go / no-go',
        'Approved by (Service owner): ______________ Date: ________',
        '',
        '- Approved by (Tech Lead): ______________',
      ),
      { roles },
    );
    expect(items(checklist)).toEqual([
      expect.objectContaining({
        kind: 'signoff',
        title: 'Service owner sign-off',
        signoff: { role: 'service-owner' },
      }),
      expect.objectContaining({
        kind: 'signoff',
        title: 'Tech Lead sign-off',
        signoff: { role: 'tech-lead' },
      }),
    ]);
    expect(unknownRoles).toEqual([]);
  });

  it('reads Spanish signature lines and lists the roles it does not know', () => {
    const { checklist, unknownRoles } = importRunbook(
      md(
        '## Aprobación',
        'Aprobado por: ______________ Fecha: ________',
        '',
        '### Responsable de QA',
        '**Firma:** ____________ **Fecha:** ______',
      ),
      { roles },
    );
    expect(
      items(checklist).map((item) => [item.title, item.kind === 'signoff' && item.signoff.role]),
    ).toEqual([
      ['Approver sign-off', 'approver'],
      ['Responsable de QA sign-off', 'responsable-de-qa'],
    ]);
    expect(unknownRoles).toEqual([
      { role: 'approver', label: 'Approver', line: 2 },
      { role: 'responsable-de-qa', label: 'Responsable de QA', line: 5 },
    ]);
  });

  it('turns each row of a sign-off table into a sign-off for the role it names', () => {
    const { checklist, unknownRoles } = importRunbook(
      md(
        '## Sign-off',
        '| Role | Name | Date | Signature |',
        '|------|------|------|-----------|',
        '| Service owner | | | ____ |',
        '| Technical Lead | Ana Ruiz | | ____ |',
        '| Security Officer | | | ____ |',
        '| Responsable de QA | | | ____ |',
      ),
      { roles },
    );
    expect(
      items(checklist).map((item) => [item.title, item.kind === 'signoff' && item.signoff.role, item.notes]),
    ).toEqual([
      ['Service owner sign-off', 'service-owner', undefined],
      ['Technical Lead sign-off', 'tech-lead', 'Name: Ana Ruiz'],
      ['Security Officer sign-off', 'security', undefined],
      ['Responsable de QA sign-off', 'responsable-de-qa', undefined],
    ]);
    expect(unknownRoles).toEqual([{ role: 'responsable-de-qa', label: 'Responsable de QA', line: 7 }]);
  });

  it('does not take a contacts table for a sign-off table', () => {
    const { stats } = importRunbook(
      md(
        '## Contacts',
        '| Role | Name | Email |',
        '|---|---|---|',
        '| Tech Lead | | |',
        '- [ ] Contacts confirmed',
      ),
    );
    expect(stats.signoffs).toBe(0);
  });

  it("lists the approval of the runbook document itself as not imported, rather than a deployment's sign-off", () => {
    const { stats, notImported } = importRunbook(
      md(
        '## Steps',
        '- [ ] Deploy',
        '',
        '---',
        '',
        '**Last Updated:** 2024-05-01',
        '**Version:** 1.0',
        '**Approved by:** ____________',
      ),
    );
    expect(stats.signoffs).toBe(0);
    expect(notImported).toEqual([
      { line: 8, text: '**Approved by:** ____________', why: expect.stringContaining('document') },
    ]);
  });
});

describe('importRunbook: nested checkboxes', () => {
  it('keeps the items a checkbox is nested under as a note', () => {
    const { checklist } = importRunbook(
      md(
        '## Deploy',
        '1. [ ] Deploy the backend',
        '   1. [ ] API',
        '   2. [ ] Workers',
        '      - [ ] Cron worker',
        '   - Also:',
        '     - [ ] Queue consumer',
        '2. [ ] Deploy the frontend',
      ),
    );
    expect(items(checklist).map((item) => [item.title, item.notes])).toEqual([
      ['Deploy the backend', undefined],
      ['API', 'Part of: Deploy the backend'],
      ['Workers', 'Part of: Deploy the backend'],
      ['Cron worker', 'Part of: Deploy the backend › Workers'],
      ['Queue consumer', 'Part of: Deploy the backend › Also'],
      ['Deploy the frontend', undefined],
    ]);
  });
});

describe('importRunbook: headings and fences', () => {
  it('makes a heading in any language a phase, also inside a block quote', () => {
    const { checklist } = importRunbook(
      md(
        '# Руководство',
        '## Подготовка',
        '- [ ] Проверить резервную копию',
        '> ### ⚠️ Откат',
        '> - [ ] Вернуть версию',
        '## デプロイ',
        '- [ ] 確認する',
        '## Verificación ✅',
        '- [ ] Paso final',
      ),
    );
    expect(phaseTitles(checklist)).toEqual(['Подготовка', 'Подготовка › Откат', 'デプロイ', 'Verificación']);
    expectValid(checklist);
  });

  it('attaches a fence between two steps to the step above it', () => {
    const { checklist } = importRunbook(
      md(
        '## Deploy',
        '1. [ ] Apply the manifests',
        '```bash',
        'kubectl apply -f k8s/',
        '```',
        '2. [ ] Watch the rollout',
        '```bash',
        'kubectl rollout status deploy/checkout',
        '```',
      ),
    );
    const [phase] = checklist.phases;
    expect(phase?.items.map((item) => [item.title, item.commands])).toEqual([
      ['Apply the manifests', ['kubectl apply -f k8s/']],
      ['Watch the rollout', undefined],
    ]);
    // The last fence ends the section, so it is the phase's.
    expect(phase?.commands).toEqual(['kubectl rollout status deploy/checkout']);
  });

  it('says which code blocks had nowhere to go', () => {
    const { unattachedCode } = importRunbook(
      md('## Steps', '- [ ] Done', '## Reference', '```bash', 'curl -f https://example.com/health', '```'),
    );
    expect(unattachedCode).toEqual([4]);
  });
});
