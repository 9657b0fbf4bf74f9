import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { formatProblem } from '../../../src/shared/problems.js';

const CHECKLIST = `
id: tiny
title: Tiny
phases:
  - id: one
    title: One
    items:
      - { id: a, kind: manual, title: A, owner: dba }
      - { id: b, kind: check, title: Healthy, check: { type: http, url: "{{health_url}}" } }
`;

async function setup(yaml: string, checklists: Record<string, string> = { 'tiny.yaml': CHECKLIST }) {
  const dir = await mkdtemp(join(tmpdir(), 'fd-config-'));
  await mkdir(join(dir, 'checklists'));
  for (const [name, text] of Object.entries(checklists)) await writeFile(join(dir, 'checklists', name), text);
  await writeFile(join(dir, 'flightdeck.yaml'), yaml);
  return join(dir, 'flightdeck.yaml');
}

const CREDS = { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 'shhh-secret-123' };

describe('loadConfig', () => {
  it('accepts a clean configuration and picks HTTP or Socket Mode', async () => {
    const path = await setup(`
services:
  web:
    checklist: tiny
    channel: C0WEB
    deployers: [anyone]
    health_url: https://web.example.com/health
roles:
  dba: { users: [U0DBA] }
`);
    const http = await loadConfig({ ...CREDS, FLIGHTDECK_CONFIG: path });
    expect(http.ok && http.config.slackMode).toBe('http');
    expect(http.ok && http.config.env).toMatchObject({ REDIS_URL: 'redis://127.0.0.1:6379', PORT: 3000 });
    const socket = await loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_APP_TOKEN: 'xapp-1-A',
      FLIGHTDECK_CONFIG: path,
    });
    expect(socket.ok && socket.config.slackMode).toBe('socket');
  });

  it('reports every problem at once, each with its file, line and path', async () => {
    const path = await setup(
      `
services:
  web:
    checklist: missing-one
    channel: general
  api:
    checklist: tiny
    channel: C0API
    deployers: [release-managers]
roles:
  dba: { users: [] }
`,
      {
        'tiny.yaml': CHECKLIST,
        'broken.yaml':
          'id: broken\ntitle: Broken\nphases:\n  - id: x\n    title: X\n    items:\n      - { id: a, kind: teleport, title: A }\n',
      },
    );
    const result = await loadConfig({ ...CREDS, PORT: 'eighty', LOG_LEVEL: 'loud', FLIGHTDECK_CONFIG: path });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const lines = result.problems.map(formatProblem);
    // env problems
    expect(lines).toContainEqual(expect.stringMatching(/^env: PORT: /));
    expect(lines).toContainEqual(expect.stringMatching(/^env: LOG_LEVEL: /));
    // the YAML's own schema problems stop the cross-checks for that file, so fix in two rounds is fine —
    // but everything the schema sees is there at once: the bad channel and the empty role.
    expect(lines).toContainEqual(
      expect.stringMatching(/flightdeck\.yaml:5: services\.web\.channel: a Slack channel ID/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/flightdeck\.yaml:\d+: roles\.dba: a role needs at least one user or group/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/broken\.yaml:7: phases\[0\]\.items\[0\]\.kind: /));
  });

  it('cross-checks services, checklists, roles and placeholders', async () => {
    const path = await setup(`
services:
  web:
    checklist: missing-one
    channel: C0WEB
    deployers: [anyone]
  api:
    checklist: tiny
    channel: C0API
    deployers: [release-managers]
roles:
  ops: { users: [U0OPS] }
`);
    const result = await loadConfig({ ...CREDS, FLIGHTDECK_CONFIG: path });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const lines = result.problems.map(formatProblem);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /flightdeck\.yaml:4: services\.web\.checklist: no checklist "missing-one" \(have: tiny\)/,
        ),
        expect.stringMatching(
          /flightdeck\.yaml:8: services\.api\.checklist: checklist "tiny" uses \{\{health_url\}\}/,
        ),
        expect.stringMatching(
          /flightdeck\.yaml:10: services\.api\.deployers\[0\]: no role "release-managers"/,
        ),
        expect.stringMatching(/tiny\.yaml: phases\[0\]\.items\[0\]\.owner: role "dba" is not defined/),
      ]),
    );
    expect(lines).toHaveLength(4);
  });

  it('cross-checks the roles escalation chains notify, in flightdeck.yaml and in checklists', async () => {
    const escalating = `${CHECKLIST}escalation:
  levels:
    - { after: 5m, notify: owner }
    - { after: 10m, notify: sre-leads, page: true }
`;
    const path = await setup(
      `
services:
  web:
    checklist: tiny
    channel: C0WEB
    deployers: [anyone]
    health_url: https://web.example.com/health
escalation:
  levels:
    - { after: 10m, notify: owner }
    - { after: 20m, notify: on-call, page: true }
    - { after: 40m, notify: engineering-director }
roles:
  dba: { users: [U0DBA] }
  on-call: { users: [U0ONCALL] }
`,
      { 'tiny.yaml': escalating },
    );
    const result = await loadConfig({ ...CREDS, FLIGHTDECK_CONFIG: path });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map(formatProblem)).toEqual([
      expect.stringMatching(
        /flightdeck\.yaml:12: escalation\.levels\[2\]\.notify: no role "engineering-director" under roles:/,
      ),
      expect.stringMatching(
        /tiny\.yaml: escalation\.levels\[1\]\.notify: role "sre-leads" is not defined under roles: in .*flightdeck\.yaml/,
      ),
    ]);
  });

  it('wants deployers named (or `anyone`, explicitly), and keeps `anyone` from being a role', async () => {
    const path = await setup(`
services:
  web:
    checklist: tiny
    channel: C0WEB
    health_url: https://web.example.com/health
  api:
    checklist: tiny
    channel: C0API
    health_url: https://api.example.com/health
    deployers: []
roles:
  dba: { users: [U0DBA] }
  anyone: { users: [U0EVERYONE] }
`);
    const result = await loadConfig({ ...CREDS, FLIGHTDECK_CONFIG: path });
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
      expect.stringMatching(
        /flightdeck\.yaml:3: services\.web\.deployers: name the roles that may deploy this service \(e\.g\. \[deployer\]\), or \[anyone\] to let everyone$/,
      ),
      expect.stringMatching(/flightdeck\.yaml:11: services\.api\.deployers: name the roles that may deploy/),
      expect.stringMatching(/flightdeck\.yaml:\d+: roles: "anyone" is reserved: it means everyone/),
    ]);
  });

  it('does not hold the built-in escalation chain against a file without an on-call role', async () => {
    const path = await setup(`
services:
  web:
    checklist: tiny
    channel: C0WEB
    deployers: [anyone]
    health_url: https://web.example.com/health
roles:
  dba: { users: [U0DBA] }
`);
    const result = await loadConfig({ ...CREDS, FLIGHTDECK_CONFIG: path });
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
  });

  it('names each missing Slack credential separately from configuration problems', async () => {
    const path = await setup('services: {}\nroles:\n  dba: { users: [U0DBA] }\n');
    const none = await loadConfig({ FLIGHTDECK_CONFIG: path });
    expect(none).toMatchObject({
      ok: false,
      problems: [],
      missingCredentials: ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET'],
    });
    const socketOnly = await loadConfig({ SLACK_APP_TOKEN: 'xapp-1', FLIGHTDECK_CONFIG: path });
    expect(socketOnly).toMatchObject({ ok: false, missingCredentials: ['SLACK_BOT_TOKEN'] });
  });

  it('reads fold_when_posts_waiting (8 unless given, a count or `never`) and names a wrong value', async () => {
    const service = `
services:
  web: { checklist: tiny, channel: C0WEB, deployers: [anyone], health_url: https://web.example.com/health }
roles:
  dba: { users: [U0DBA] }
`;
    const load = async (line: string) =>
      loadConfig({ ...CREDS, FLIGHTDECK_CONFIG: await setup(`${line}\n${service}`) });
    const fold = async (line: string) => {
      const loaded = await load(line);
      return loaded.ok ? loaded.config.file.fold_when_posts_waiting : undefined;
    };
    expect(await fold('')).toBe(8);
    expect(await fold('fold_when_posts_waiting: 0')).toBe(0);
    expect(await fold('fold_when_posts_waiting: never')).toBe('never');
    for (const wrong of ['sometimes', '-1', '2.5']) {
      const loaded = await load(`fold_when_posts_waiting: ${wrong}`);
      expect(loaded.ok, wrong).toBe(false);
      if (!loaded.ok)
        expect(loaded.problems.map(formatProblem).join('\n'), wrong).toMatch(
          /flightdeck\.yaml:1: fold_when_posts_waiting: a whole number of posts \(0: always fold\), or never/,
        );
    }
  });

  it('says where it looked when flightdeck.yaml is missing', async () => {
    const result = await loadConfig({ ...CREDS, FLIGHTDECK_CONFIG: '/nonexistent/flightdeck.yaml' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map(formatProblem)).toEqual([
      expect.stringContaining('/nonexistent/flightdeck.yaml: (top level): cannot read (ENOENT)'),
    ]);
  });

  it('validates the committed flightdeck.yaml and checklists cleanly', async () => {
    const result = await loadConfig({ ...CREDS, FLIGHTDECK_CONFIG: 'flightdeck.yaml' });
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
  });
});
