import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { importRunbook } from '../../../src/checklists/importer.js';
import { loadChecklists, parseChecklist } from '../../../src/checklists/loader.js';
import { allPhases, allTitles } from '../../../src/checklists/phases.js';
import type { Checklist, CheckSpec, Item, Phase, Trigger } from '../../../src/checklists/schema.js';
import { placeholdersIn, walk } from '../../../src/checklists/templating.js';
import { fileConfigSchema, type ServiceConfig } from '../../../src/config/schema.js';

/**
 * The five seed runbooks, imported and then finished by hand in checklists/. The import must account for
 * every checkbox line, and the finished checklist must keep every imported title and add the automation
 * the runbook asks for.
 */

const SEEDS_DIR = 'test/fixtures/seeds';
const CHECKBOX_LINE_RE = /^\s*(?:[-*+]|\d+\.)\s+\[[ xX]\]/;
const SIGNATURE_PARAGRAPH_RE = /^\*\*Signature:\*\*\s*_{3,}/;
const SIGNATURE_CHECKBOX_RE = /^\s*(?:[-*+]|\d+\.)\s+\[[ xX]\]\s+[A-Za-z ]+:\s*_{3,}/;

interface Seed {
  file: string;
  id: string;
  /** Literal counts, so the line-regex counts below cannot silently be zero. */
  checkboxLines: number;
  signatures: number;
}

const SEEDS: Seed[] = [
  { file: '000_ac09ab3548d5fda3.md', id: 'blue-green-release', checkboxLines: 124, signatures: 0 },
  { file: '001_83aa8662de351496.md', id: 'kubernetes-rollout-signoff', checkboxLines: 128, signatures: 4 },
  { file: '002_d325e31cb803ed3c.md', id: 'platform-readiness', checkboxLines: 170, signatures: 13 },
  { file: '003_5f3999c3e4b25ca8.md', id: 'canary-release', checkboxLines: 70, signatures: 0 },
  { file: '004_1bd5b43e591f8351.md', id: 'marketplace-launch', checkboxLines: 195, signatures: 0 },
];

function seedText(seed: Seed): string {
  return readFileSync(join(SEEDS_DIR, seed.file), 'utf8');
}

function finished(id: string): Checklist {
  const file = join('checklists', `${id}.yaml`);
  const parsed = parseChecklist(readFileSync(file, 'utf8'), file);
  if (!parsed.ok) throw new Error(parsed.problems.map((problem) => problem.message).join('\n'));
  return parsed.checklist;
}

interface Found {
  item: Item;
  phase: Phase;
  section: 'phases' | 'rollback' | 'procedures';
}

function find(checklist: Checklist, title: string): Found {
  const matches = allPhases(checklist).flatMap(({ phase, section }) =>
    phase.items.filter((item) => item.title === title).map((item) => ({ item, phase, section })),
  );
  expect(matches, `items titled "${title}"`).toHaveLength(1);
  return matches[0] as Found;
}

function checkOf(checklist: Checklist, title: string): CheckSpec {
  const { item } = find(checklist, title);
  if (item.kind !== 'check') throw new Error(`"${title}" is a ${item.kind} item, not a check`);
  return item.check;
}

function trigger(checklist: Checklist, title: string): Trigger {
  const found = checklist.rollback?.triggers.find((candidate) => candidate.title === title);
  if (!found) throw new Error(`no rollback trigger "${title}"`);
  return found;
}

function phaseTitled(checklist: Checklist, suffix: string): { phase: Phase; section: string } {
  const found = allPhases(checklist).find(({ phase }) => phase.title.endsWith(suffix));
  if (!found) throw new Error(`no phase ending in "${suffix}"`);
  return found;
}

const ERROR_RATE_QUERY =
  'sum(rate(http_requests_total{service="{{service}}",code=~"5.."}[5m])) / sum(rate(http_requests_total{service="{{service}}"}[5m]))';
const p95Query =
  'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="{{service}}"}[5m])))';
const p99Query =
  'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="{{service}}"}[5m])))';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe.each(SEEDS)('seed $file -> checklists/$id.yaml', (seed) => {
  const text = seedText(seed);
  const lines = text.split('\n');
  const checkboxLines = lines.filter((line) => CHECKBOX_LINE_RE.test(line)).length;
  const signatureParagraphs = lines.filter((line) => SIGNATURE_PARAGRAPH_RE.test(line)).length;
  const signatureCheckboxes = lines.filter((line) => SIGNATURE_CHECKBOX_RE.test(line)).length;
  const imported = importRunbook(text, { id: seed.id });

  it('imports one item per checkbox line plus one sign-off per signature line', () => {
    expect(checkboxLines).toBe(seed.checkboxLines);
    expect(signatureParagraphs + signatureCheckboxes).toBe(seed.signatures);
    const { stats, checklist } = imported;
    expect(stats.checkboxes).toBe(checkboxLines);
    expect(stats.signoffs).toBe(seed.signatures);
    // A signature checkbox line is one item, not two; a signature paragraph adds one.
    expect(stats.items).toBe(checkboxLines + signatureParagraphs);
    const importedItems = checklist.phases.flatMap((phase) => phase.items);
    expect(importedItems).toHaveLength(stats.items);
    expect(importedItems.filter((item) => item.kind === 'signoff')).toHaveLength(seed.signatures);
    expect(stats.phases.reduce((sum, phase) => sum + phase.items, 0)).toBe(stats.items);
  });

  it('the import validates as it stands', () => {
    const parsed = parseChecklist(JSON.stringify(imported.checklist), `${seed.file} (imported)`);
    expect(parsed.ok ? [] : parsed.problems).toEqual([]);
  });

  it('the finished checklist validates and keeps every imported title', () => {
    const checklist = finished(seed.id);
    expect(checklist.id).toBe(seed.id);
    const remaining = allTitles(checklist);
    // Titles repeat in runbooks ("Team notified"), so each imported title must be matched once.
    const missing: string[] = [];
    for (const item of imported.checklist.phases.flatMap((phase) => phase.items)) {
      const index = remaining.indexOf(item.title);
      if (index === -1) missing.push(item.title);
      else remaining.splice(index, 1);
    }
    expect(missing).toEqual([]);
  });
});

describe('seed 000: blue-green release', () => {
  let checklist: Checklist;
  beforeAll(() => {
    checklist = finished('blue-green-release');
  });

  it('switches traffic to the green slot, and back to blue on rollback', () => {
    expect(checklist.strategy).toBe('blue-green');
    expect(find(checklist, 'Traffic switched')).toMatchObject({
      item: { kind: 'traffic', traffic: { slot: 'green' } },
      section: 'phases',
    });
    expect(find(checklist, 'Traffic switched back to blue')).toMatchObject({
      item: { kind: 'traffic', traffic: { slot: 'blue' } },
      section: 'rollback',
    });
  });

  it('rolls back by itself when the error rate stays above 5% for 5 minutes', () => {
    expect(trigger(checklist, 'Error rate > 5% for > 5 minutes')).toMatchObject({
      auto: true,
      for: 5 * MINUTE,
      condition: {
        type: 'prometheus',
        query: ERROR_RATE_QUERY,
        comparator: '>',
        threshold: 0.05,
        unit: 'ratio',
      },
    });
  });

  it('automates the measurable items', () => {
    expect(checkOf(checklist, 'Error rate < 0.1%')).toMatchObject({
      type: 'prometheus',
      query: ERROR_RATE_QUERY,
      comparator: '<',
      threshold: 0.001,
      unit: 'ratio',
    });
    expect(checkOf(checklist, 'API latency < 100ms')).toMatchObject({
      query: p95Query,
      comparator: '<',
      threshold: 0.1,
      unit: 'seconds',
    });
    expect(checkOf(checklist, 'SSL/TLS certificates valid')).toMatchObject({ type: 'tls' });
    expect(checkOf(checklist, 'DNS records verified')).toMatchObject({ type: 'dns' });
    expect(checkOf(checklist, 'All nodes ready')).toMatchObject({ type: 'kubernetes', check: 'nodes-ready' });
    expect(checkOf(checklist, 'Kubernetes cluster healthy')).toMatchObject({ check: 'nodes-ready' });
    expect(checkOf(checklist, 'Green deployment started')).toMatchObject({
      check: 'rollout-complete',
      deployment: '{{kubernetes.deployment}}',
    });
    expect(checkOf(checklist, 'All pods running')).toMatchObject({
      check: 'pods-ready',
      selector: expect.stringContaining('{{kubernetes.selector}}'),
    });
    expect(checkOf(checklist, 'API gateway responding')).toMatchObject({
      type: 'http',
      url: '{{health_url}}',
    });
  });

  it('asks two reviewers to approve the code', () => {
    expect(find(checklist, 'Code review approved by 2+ team members').item).toMatchObject({
      kind: 'signoff',
      signoff: { role: 'reviewers', count: 2 },
    });
    expect(checklist.four_eyes).toBe(true);
  });

  it('schedules the post-deployment phases', () => {
    const opensAfter = (suffix: string) => phaseTitled(checklist, suffix).phase.after;
    expect(opensAfter('Immediate (T+30 minutes)')).toBe(30 * MINUTE);
    expect(opensAfter('Short-term (T+2 hours)')).toBe(2 * HOUR);
    expect(opensAfter('Long-term (T+24 hours)')).toBe(DAY);
    expect(opensAfter('Day 1')).toBe(DAY);
    expect(opensAfter('Week 1')).toBe(7 * DAY);
    expect(opensAfter('Month 1')).toBe(30 * DAY);
  });

  it('walks the rollback checklist after a rollback and keeps troubleshooting as procedures', () => {
    expect(phaseTitled(checklist, 'Rollback Checklist').section).toBe('rollback');
    expect(checklist.procedures.map((phase) => phase.title)).toContain('Troubleshooting › High Error Rate');
  });
});

describe('seed 001: Kubernetes rollout with sign-off', () => {
  let checklist: Checklist;
  beforeAll(() => {
    checklist = finished('kubernetes-rollout-signoff');
  });

  it('turns the four automatic rollback triggers into auto triggers with their windows', () => {
    const triggers = checklist.rollback?.triggers ?? [];
    expect(triggers.map((t) => [t.title, t.for, t.auto])).toEqual([
      ['Health check failures for > 5 minutes', 5 * MINUTE, true],
      ['Error rate > 10% for > 2 minutes', 2 * MINUTE, true],
      ['Response time > 5s for > 2 minutes', 2 * MINUTE, true],
      ['Memory usage > 90% for > 5 minutes', 5 * MINUTE, true],
    ]);
    expect(triggers[0]?.condition).toMatchObject({ type: 'http', url: '{{health_url}}' });
    expect(triggers[1]?.condition).toMatchObject({
      query: ERROR_RATE_QUERY,
      comparator: '>',
      threshold: 0.1,
    });
    expect(triggers[2]?.condition).toMatchObject({ comparator: '>', threshold: 5, unit: 'seconds' });
    expect(triggers[3]?.condition).toMatchObject({
      query: expect.stringContaining('container_memory_working_set_bytes'),
      comparator: '>',
      threshold: 0.9,
    });
  });

  it('collects the four sign-offs from flightdeck roles before the rollout starts', () => {
    const roles = ['Technical Lead', 'DevOps Engineer', 'Security Officer', 'Product Owner'].map((name) => {
      const { item } = find(checklist, `${name} sign-off`);
      return item.kind === 'signoff' ? item.signoff.role : item.kind;
    });
    expect(roles).toEqual(['tech-lead', 'devops', 'security', 'product-owner']);
    const order = checklist.phases.map((phase) => phase.title);
    const lastSignoff = order.indexOf('Sign-off › Product Owner');
    const firstStep = order.findIndex((title) => title.startsWith('Deployment Process'));
    expect(lastSignoff).toBeGreaterThan(-1);
    expect(lastSignoff).toBeLessThan(firstStep);
  });

  it('automates validation, pods, health and rollback verification', () => {
    expect(checkOf(checklist, 'Validate Kubernetes manifests')).toMatchObject({ check: 'dry-run-apply' });
    expect(checkOf(checklist, 'Verify all pods are running')).toMatchObject({
      check: 'pods-ready',
      selector: '{{kubernetes.selector}}',
    });
    expect(checkOf(checklist, 'Test health endpoints')).toMatchObject({
      type: 'http',
      url: '{{health_url}}',
    });
    expect(checkOf(checklist, 'Verify rollback success')).toMatchObject({ check: 'rollout-complete' });
  });

  it('keeps manual rollback as a rollback phase and emergencies as procedures', () => {
    expect(phaseTitled(checklist, 'Manual Rollback Steps').section).toBe('rollback');
    expect(checklist.procedures.map((phase) => phase.title)).toEqual([
      'Emergency Procedures › Service Outage',
      'Emergency Procedures › Database Issues',
      'Emergency Procedures › Security Incident',
    ]);
    expect(phaseTitled(checklist, 'Short-term (1-24 hours)').phase.after).toBe(HOUR);
    expect(phaseTitled(checklist, 'Medium-term (1-7 days)').phase.after).toBe(DAY);
  });
});

describe('seed 002: platform readiness', () => {
  let checklist: Checklist;
  beforeAll(() => {
    checklist = finished('platform-readiness');
  });

  it('checks every service port with TCP on the platform host', () => {
    const ports = [
      ['Auth Service (port 3001)', 3001],
      ['Core Service (port 3002)', 3002],
      ['MCP Server (port 3003)', 3003],
      ['Analytics Service (port 3004)', 3004],
      ['API Gateway (port 8080)', 8080],
      ['Prometheus (port 9090)', 9090],
      ['Grafana (port 3000)', 3000],
    ] as const;
    for (const [title, port] of ports) {
      expect(checkOf(checklist, title), title).toEqual({ type: 'tcp', host: '{{vars.host}}', port });
    }
  });

  it('maps all thirteen sign-off lines to flightdeck roles', () => {
    const signoffs = allPhases(checklist)
      .flatMap(({ phase }) => phase.items)
      .filter((item) => item.kind === 'signoff')
      .map((item) => [item.title, item.signoff.role]);
    expect(signoffs).toEqual([
      ['Lead Developer sign-off', 'lead-developer'],
      ['Backend Developer sign-off', 'backend-developer'],
      ['Frontend Developer sign-off', 'frontend-developer'],
      ['DevOps Engineer sign-off', 'devops'],
      ['QA Lead sign-off', 'qa-lead'],
      ['QA Engineer sign-off', 'qa'],
      ['Security Analyst sign-off', 'security'],
      ['Operations Lead sign-off', 'operations-lead'],
      ['System Administrator sign-off', 'sysadmin'],
      ['Network Engineer sign-off', 'network-engineer'],
      ['Product Manager sign-off', 'product-manager'],
      ['Project Manager sign-off', 'project-manager'],
      ['Technical Director sign-off', 'technical-director'],
    ]);
    expect(checklist.four_eyes).toBe(true);
  });

  it('asks the lessons-learned questions in the report and keeps incident response as a procedure', () => {
    expect(checklist.report?.questions.map((question) => question.title)).toEqual(
      expect.arrayContaining([
        'What went well during deployment?',
        'What could be improved?',
        'What unexpected issues occurred?',
        'How can we prevent similar issues in the future?',
      ]),
    );
    expect(checklist.procedures.map((phase) => phase.title)).toEqual([
      'Emergency Procedures › Incident Response',
    ]);
  });

  it('checks certificates and health after the deployment', () => {
    expect(checkOf(checklist, 'SSL/TLS certificates valid')).toMatchObject({
      type: 'tls',
      host: '{{vars.host}}',
    });
    expect(checkOf(checklist, 'All services healthy and responding')).toMatchObject({ type: 'http' });
    expect(checkOf(checklist, 'API response times within SLA')).toMatchObject({
      query: p95Query,
      threshold: 2,
    });
  });
});

describe('seed 003: canary release', () => {
  let checklist: Checklist;
  beforeAll(() => {
    checklist = finished('canary-release');
  });

  it('shifts traffic 5% -> 50% -> 100% with 10, 15 and 30 minute watch windows in between', () => {
    const steps = find(checklist, 'Deploy to canary (5% traffic)').phase.items.flatMap((item) => {
      if (item.kind === 'traffic' && 'weight' in item.traffic) return [`traffic ${item.traffic.weight}`];
      if (item.kind === 'wait') return [`wait ${item.wait.duration / MINUTE}m`];
      return [];
    });
    expect(steps).toEqual(['traffic 5', 'wait 10m', 'traffic 50', 'wait 15m', 'traffic 100', 'wait 30m']);
    expect(checklist.strategy).toBe('canary');
  });

  it('verifies error rate and p99 latency after the rollout', () => {
    expect(checkOf(checklist, 'Error rate <0.1%')).toMatchObject({
      query: ERROR_RATE_QUERY,
      comparator: '<',
      threshold: 0.001,
    });
    expect(checkOf(checklist, 'Latency p99 <500ms')).toMatchObject({
      query: p99Query,
      comparator: '<',
      threshold: 0.5,
      unit: 'seconds',
    });
    expect(checkOf(checklist, 'Cluster health verified (all nodes healthy)')).toMatchObject({
      check: 'nodes-ready',
    });
  });

  it('walks the rollback scenario after a rollback', () => {
    expect(phaseTitled(checklist, 'Rollback Scenario').section).toBe('rollback');
    expect(checkOf(checklist, 'Verify previous version running')).toMatchObject({
      check: 'rollout-complete',
    });
  });
});

describe('seed 004: marketplace launch', () => {
  let checklist: Checklist;
  beforeAll(() => {
    checklist = finished('marketplace-launch');
  });

  it('rolls back on an error rate above 5% or p95 above one second', () => {
    expect(trigger(checklist, 'Error rate > 5%')).toMatchObject({
      for: 2 * MINUTE,
      condition: { query: ERROR_RATE_QUERY, comparator: '>', threshold: 0.05 },
    });
    expect(trigger(checklist, 'Response time p95 > 1000ms')).toMatchObject({
      for: 2 * MINUTE,
      condition: { query: p95Query, comparator: '>', threshold: 1, unit: 'seconds' },
    });
  });

  it('automates the HPA, rollout, endpoints and resource checks', () => {
    expect(checkOf(checklist, 'Auto-scaling rules configured (HPA)')).toEqual({
      type: 'kubernetes',
      check: 'exists',
      api_version: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      name: '{{kubernetes.hpa}}',
    });
    expect(checkOf(checklist, 'Verify deployment status (kubectl get pods)')).toMatchObject({
      check: 'rollout-complete',
    });
    expect(checkOf(checklist, 'Verify service endpoints accessible')).toMatchObject({
      check: 'endpoints-ready',
    });
    expect(checkOf(checklist, 'Monitor CPU usage (should be < 70%)')).toMatchObject({
      query: expect.stringContaining('container_cpu_usage_seconds_total'),
      threshold: 0.7,
    });
    expect(checkOf(checklist, 'Monitor memory usage (should be < 80%)')).toMatchObject({ threshold: 0.8 });
    expect(find(checklist, 'Code review completed by at least 2 developers').item).toMatchObject({
      kind: 'signoff',
      signoff: { role: 'reviewers', count: 2 },
    });
  });

  it('schedules the 24-hour and one-week phases', () => {
    expect(phaseTitled(checklist, 'Performance Analysis').phase.after).toBe(DAY);
    expect(phaseTitled(checklist, 'Stability').phase.after).toBe(7 * DAY);
    expect(phaseTitled(checklist, 'Success Criteria').phase.after).toBe(DAY);
  });
});

describe('checklists/ as a whole', () => {
  const config = fileConfigSchema.parse(parse(readFileSync('flightdeck.yaml', 'utf8')));

  it('loads with zero problems and holds every checklist flightdeck.yaml names', async () => {
    const loaded = await loadChecklists({ dir: 'checklists' });
    expect(loaded.problems).toEqual([]);
    for (const seed of SEEDS) expect(loaded.checklists.has(seed.id), seed.id).toBe(true);
    for (const service of Object.values(config.services)) {
      expect(loaded.checklists.has(service.checklist), service.checklist).toBe(true);
    }
  });

  it.each(SEEDS)('$id uses only roles from flightdeck.yaml', ({ id }) => {
    const checklist = finished(id);
    const roles = allPhases(checklist).flatMap(({ phase }) =>
      phase.items.flatMap((item) => [item.owner, item.kind === 'signoff' ? item.signoff.role : undefined]),
    );
    const used = [...new Set(roles.filter((role): role is string => role !== undefined))];
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((role) => !(role in config.roles))).toEqual([]);
  });

  it.each(SEEDS)('$id uses only placeholders its service provides', ({ id }) => {
    const services = Object.entries(config.services).filter(([, service]) => service.checklist === id);
    expect(services).toHaveLength(1);
    const [, service] = services[0] as [string, ServiceConfig];
    const used = new Set<string>();
    walk(finished(id), (text) => {
      for (const name of placeholdersIn(text)) used.add(name);
      return text;
    });
    expect(used.size).toBeGreaterThan(0);
    expect([...used].filter((name) => !provides(service, name))).toEqual([]);
  });
});

/** Whether a `{{name}}` has a value when this service is deployed. */
function provides(service: ServiceConfig, name: string): boolean {
  if (['service', 'version', 'environment', 'namespace', 'channel'].includes(name)) return true;
  if (name === 'prometheus_url' || name === 'health_url' || name === 'base_url')
    return service[name] !== undefined;
  const [group, key = ''] = name.split('.');
  if (group === 'links' || group === 'kubernetes' || group === 'vars') return key in service[group];
  return false;
}
