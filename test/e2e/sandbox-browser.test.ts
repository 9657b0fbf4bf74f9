import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/sandbox/infra/redis-server.js';
import { testRedisUrl } from '../support/redis.js';

/**
 * The newcomer's path: `npm start` with no Slack credentials prints the sandbox's URL, and in Debian's
 * Chromium the page walks a deployment of the demo service — typed `/deploy`, buttons, a modal, a
 * denial for someone without the role, a sign-off — then "Raise error rate" makes the rollback trigger
 * fire and the automatic rollback appears without a reload. Every click went through the bot's own
 * Bolt receiver as a signed Slack payload (the page has no other way in). Then `/deploy report` shows
 * that deployment's report as formatted Markdown, and the page is used at a phone's width.
 *
 * The tests run in order and share the sandbox: the report is the walked deployment's.
 */

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test/artifacts';
const PHONE = { width: 390, height: 844 };
const START_LIMIT_MS = 20_000;

let child: ChildProcess;
let output = '';
let url: string;
let startMs: number;
let context: BrowserContext;
let page: Page;
let profile: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: apt-get install --no-install-recommends chromium (.ci/run does)`,
    );
  const port = await freePort();
  // As a newcomer runs it: no Slack variables at all. REDIS_URL points at the test run's Redis.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('SLACK_') && name !== 'NODE_ENV'),
  );
  const started = Date.now();
  child = spawn('npm', ['start'], {
    env: { ...env, PORT: String(port), REDIS_URL: testRedisUrl(), LOG_LEVEL: 'warn' },
    // Its own process group, so the whole tree (npm, tsx, node, Prometheus) is stopped together.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no URL within ${START_LIMIT_MS} ms; output so far:\n${output}`)),
      START_LIMIT_MS,
    );
    const look = () => {
      const match = /Flightdeck sandbox ready in [\d.]+s: (http:\/\/\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      resolve(match[1] as string);
    };
    child.stdout?.on('data', look);
    child.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${output}`)));
  });
  startMs = Date.now() - started;

  profile = await mkdtemp(join(tmpdir(), 'flightdeck-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1440, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 60_000);

afterAll(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  if (child?.pid) await stopGroup(child.pid);
});

/** Ctrl-C to the process group (npm, tsx, the sandbox, its Prometheus), then waits until all are gone. */
async function stopGroup(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(-pid, 'SIGINT'); // the sandbox stops what it started and removes its Redis keys
  const deadline = Date.now() + 15_000;
  while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (alive()) process.kill(-pid, 'SIGKILL');
}

/** A Block Kit button on the item's row in the open thread. */
function itemButton(item: string, actionId: string): Locator {
  return page.locator(`#thread-messages button[data-action-id="${actionId}"][data-value$="|${item}"]`);
}

function itemRow(item: string): Locator {
  return page.locator(`#thread-messages [data-block-id="i|${item}"]`);
}

async function actAs(name: string): Promise<void> {
  const option = page.locator('#user-switcher option', { hasText: name });
  await page.selectOption('#user-switcher', (await option.getAttribute('value')) as string);
  await expect.poll(() => page.locator('#me').textContent()).toContain(name);
}

describe('npm start without Slack credentials: the sandbox in a browser', () => {
  it(`prints the page's URL within ${START_LIMIT_MS / 1000} s, with a hint about the missing credentials`, () => {
    expect(startMs).toBeLessThan(START_LIMIT_MS);
    expect(output).toContain('Slack credentials not set (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    console.log(`sandbox URL printed ${startMs} ms after npm start`);
  });

  it('walks a demo deployment to an automatic rollback, live', async () => {
    await page.goto(url);
    await page.waitForSelector('body[data-ready=true]');
    await expect.poll(() => page.locator('#channel-title').textContent()).toBe('# demo');
    // Set a marker: if the page reloaded at any point, it would be gone at the end.
    await page.evaluate(() => {
      (globalThis as unknown as { marker: number }).marker = 42;
    });

    await page.locator('#composer-input').fill('/deploy start demo 1.2.3');
    await page.locator('#composer-input').press('Enter');
    const started = page.locator('#messages .message.ephemeral', { hasText: 'Started demo 1.2.3' });
    await started.waitFor();
    await expect.poll(() => started.locator('.only-you').textContent()).toBe('Only visible to you');
    const card = page.locator('#messages .message.from-bot', { hasText: 'demo 1.2.3 → production' });
    await card.waitFor();

    // The thread, from the ephemeral's "Open the thread" link (a permalink that opens here, not in Slack).
    await started.getByRole('link', { name: 'Open the thread' }).click();
    await page.locator('#thread-messages .bk-header', { hasText: '1. Pre-flight' }).waitFor();

    await itemButton('release-notes', 'item.done').click();
    await expect.poll(() => itemRow('release-notes').textContent()).toContain('done by @Dana Deployer');

    // Skip… opens a modal; three spaces pass the client's min_length but not the bot, which answers
    // response_action: errors — shown next to the field — and the modal stays open.
    await itemButton('changelog-link', 'item.skip').click();
    const modal = page.locator('#modal-root form.modal');
    await modal.waitFor();
    await expect.poll(() => modal.locator('h2').textContent()).toBe('Skip item');
    await modal.locator('textarea').fill('   ');
    await modal.getByRole('button', { name: 'Skip' }).click();
    await expect
      .poll(() => modal.locator('.bk-input-error').textContent())
      .toContain('Say why it is skipped');
    await modal.locator('textarea').fill('the changelog is in the release notes');
    await modal.getByRole('button', { name: 'Skip' }).click();
    await modal.waitFor({ state: 'detached' });
    await expect.poll(() => itemRow('changelog-link').textContent()).toContain('skipped by @Dana Deployer');
    expect(await itemRow('changelog-link').textContent()).toContain(
      '“the changelog is in the release notes”',
    );

    // Someone without the role is told no, privately; the approver signs.
    await actAs('Vic Viewer');
    await itemButton('release-approved', 'item.done').click();
    const denial = page.locator('#thread-messages .message.ephemeral', { hasText: 'approver role' });
    await denial.waitFor();
    expect(await denial.textContent()).toContain('Only visible to you');
    expect(await itemRow('release-approved').textContent()).not.toContain('signed');
    await actAs('Avery Approver');
    await expect.poll(() => denial.count()).toBe(0); // Vic's ephemeral is Vic's alone
    await itemButton('release-approved', 'item.done').click();
    // The message was updated a moment ago: Slack's pace (one update a second per message) applies.
    await expect
      .poll(() => itemRow('release-approved').textContent(), { timeout: 5_000 })
      .toContain('1 of 1 signed: @Avery Approver');

    // Every check passed against the simulated cluster and metrics, so the canary phase opens.
    await page.locator('#thread-messages .bk-header', { hasText: '2. Canary' }).waitFor({ timeout: 30_000 });
    await actAs('Dana Deployer');
    await itemButton('shift-10', 'traffic.shift').click();
    await expect.poll(() => itemRow('shift-10').textContent(), { timeout: 15_000 }).toMatch(/canary 10%/);

    // The incident: the error-rate trigger (auto: true, for: 10s) fires and Flightdeck rolls back.
    await page.getByRole('button', { name: 'Raise error rate' }).click();
    await expect.poll(() => page.locator('#incident-state').textContent()).toContain('error rate 25%');
    const rolledBack = page.locator('#thread-messages .message', { hasText: /Rolled back demo 1\.2\.3/ });
    await rolledBack.waitFor({ timeout: 60_000 });
    expect(await rolledBack.textContent()).toContain('Error rate above 5%');
    await expect.poll(() => card.textContent()).toContain('Rolled back');
    expect(await page.evaluate(() => (globalThis as unknown as { marker: number }).marker)).toBe(42);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'sandbox-rollback.png') });
    expect(pageErrors).toEqual([]);
  }, 150_000);

  it('shows /deploy report as Markdown: headings, lists, inline code and people by name', async () => {
    await page.locator('#composer-input').fill('/deploy report');
    await page.locator('#composer-input').press('Enter');
    const report = page.locator('#messages .message.ephemeral .bk-markdown');
    await report.waitFor();
    expect(await report.locator('h1').textContent()).toBe('Deployment report: demo 1.2.3 → production');
    expect(await report.locator('h2').allTextContents()).toEqual(
      expect.arrayContaining(['Deployment Metrics', 'Phases', 'Rollback', 'Checks', 'Skipped items']),
    );
    // The headline is a list of label: value lines; the phases a numbered list.
    const headline = report.locator('h1 + ul > li');
    expect(await headline.first().locator('strong').textContent()).toBe('Outcome:');
    expect(await headline.first().textContent()).toContain('Rolled back');
    expect(await headline.filter({ hasText: 'Requested by:' }).locator('.mention').textContent()).toBe(
      '@Dana Deployer',
    );
    expect(await headline.filter({ hasText: 'Checklist:' }).locator('code').count()).toBe(1);
    const phases = report.locator('h2:text-is("Phases") + ol > li');
    expect(await phases.first().textContent()).toMatch(/^Pre-flight — /);
    expect(await report.locator('h2:text-is("Skipped items") + ul > li').textContent()).toContain(
      '“the changelog is in the release notes”',
    );
    // Nothing is left as Markdown source, and nothing fell back to the "[markdown block]" placeholder.
    expect(await report.textContent()).not.toMatch(/\*\*|##|\\\\/);
    expect(await page.locator('#messages .bk-unsupported').count()).toBe(0);
    await report.locator('h1').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'sandbox-report.png') });
  }, 30_000);

  it('renders a markdown table and code block in the DOM, with HTML in cells as text', async () => {
    // The bot's report has no table, so the page's own renderer draws one into the page (the tests'
    // TypeScript has no DOM types, hence the expression as a string); the hostile cells must stay
    // text: no element made, no handler run.
    const text = [
      '| Check | Runs | Result |',
      '| :-- | --: | --- |',
      '| Error rate | 2 | `0.05%` |',
      '| <img src=x onerror="window.injected = 1"> | 1 | <script>window.injected = 2</script> |',
      '',
      '```',
      'kubectl rollout undo deploy/demo',
      '```',
    ].join('\n');
    await page.evaluate(`import('/blockkit.js').then(({ renderBlocks }) => {
      const holder = document.createElement('div');
      holder.id = 'markdown-check';
      holder.innerHTML = renderBlocks([{ type: 'markdown', text: ${JSON.stringify(text)} }], {
        interactive: false, people: [], userName: (id) => id, channelName: (id) => id,
        link: (href) => href, register: () => '',
      });
      document.body.append(holder);
    })`);
    const holder = page.locator('#markdown-check');
    const rows = holder.locator('table tr');
    expect(await rows.count()).toBe(3);
    expect(await rows.nth(0).locator('th').allTextContents()).toEqual(['Check', 'Runs', 'Result']);
    expect(await rows.nth(1).locator('td').allTextContents()).toEqual(['Error rate', '2', '0.05%']);
    expect(await rows.nth(1).locator('td code').textContent()).toBe('0.05%');
    expect(await rows.nth(2).locator('td').allTextContents()).toEqual([
      '<img src=x onerror="window.injected = 1">',
      '1',
      '<script>window.injected = 2</script>',
    ]);
    expect(await rows.nth(1).locator('td').nth(1).getAttribute('class')).toBe('align-right');
    expect(await holder.locator('pre > code').textContent()).toBe('kubectl rollout undo deploy/demo');
    expect(await holder.locator('img, script').count()).toBe(0);
    await page.waitForTimeout(200); // time for an onerror, were there an image
    expect(
      await page.evaluate(() => (globalThis as unknown as { injected?: number }).injected),
    ).toBeUndefined();
    await holder.evaluate((node) => node.remove());
  });

  it(`at a phone's width (${PHONE.width} px): one column, channels behind a menu, the thread as a full-width panel`, async () => {
    const phone = await context.newPage();
    phone.on('pageerror', (error) => pageErrors.push(error.message));
    await phone.setViewportSize(PHONE);
    await phone.goto(url);
    await phone.waitForSelector('body[data-ready=true]');
    const box = async (selector: string) => {
      const found = await phone.locator(selector).boundingBox();
      if (!found) throw new Error(`${selector} is not on screen`);
      return found;
    };
    // The page itself never scrolls sideways.
    const pageWidth = () => phone.evaluate<number>('document.documentElement.scrollWidth');
    expect(await pageWidth()).toBeLessThanOrEqual(PHONE.width);

    // One column: the channel takes the whole width; the sidebar waits behind the menu button.
    expect(await box('main.channel')).toMatchObject({ x: 0, width: PHONE.width });
    await expect.poll(() => phone.locator('.sidebar').isVisible()).toBe(false);
    const menu = phone.getByRole('button', { name: 'Channels and people' });
    const menuBox = await box('#menu-button');
    expect(menuBox.x).toBeGreaterThanOrEqual(0);
    expect(menuBox.y + menuBox.height).toBeLessThanOrEqual(PHONE.height);
    await menu.click();
    await expect.poll(() => phone.locator('.sidebar').isVisible()).toBe(true);
    await expect.poll(async () => (await box('.sidebar')).x).toBe(0); // once it has slid in
    const sidebar = await box('.sidebar');
    expect(sidebar.width).toBeLessThan(PHONE.width); // a drawer over the channel, which shows at its edge
    await mkdir(ARTIFACTS, { recursive: true });
    await phone.screenshot({ path: join(ARTIFACTS, 'sandbox-phone-menu.png') });
    // Choosing a channel opens it and puts the drawer away.
    await phone.locator('.channel-item', { hasText: /^# demo$/ }).click();
    await expect.poll(() => phone.locator('.sidebar').isVisible()).toBe(false);
    expect(await phone.locator('#channel-title').textContent()).toBe('# demo');

    // The walk's deployment has ended, so demo 1.2.3 starts again; its "Started" answer is still shown.
    const startedAnswers = phone.locator('#messages .message.ephemeral', { hasText: 'Started demo 1.2.3' });
    const startedBefore = await startedAnswers.count();
    await phone.locator('#composer-input').fill('/deploy start demo 1.2.3');
    await phone.locator('#composer-input').press('Enter');
    await expect.poll(() => startedAnswers.count()).toBe(startedBefore + 1);
    const started = startedAnswers.last();
    expect(await box('#composer')).toMatchObject({ x: 0, width: PHONE.width });
    expect(await pageWidth()).toBeLessThanOrEqual(PHONE.width);

    // The thread: a full-width panel over the channel, with a close button in reach.
    await started.getByRole('link', { name: 'Open the thread' }).click();
    await phone.locator('#thread-messages .bk-header', { hasText: '1. Pre-flight' }).waitFor();
    expect(await box('#thread')).toEqual({ x: 0, y: 0, width: PHONE.width, height: PHONE.height });
    const close = phone.getByRole('button', { name: 'Close thread' });
    expect(await close.isVisible()).toBe(true);
    const closeBox = await box('#thread-close');
    expect(closeBox.x + closeBox.width).toBeLessThanOrEqual(PHONE.width);
    expect(closeBox.y).toBeGreaterThanOrEqual(0);
    expect(closeBox.width).toBeGreaterThanOrEqual(40); // a finger's width
    const threadComposer = await box('#thread-composer');
    expect(threadComposer.y + threadComposer.height).toBeLessThanOrEqual(PHONE.height);
    // What lies under the panel is covered, not squeezed beside it.
    expect(await phone.evaluate('document.elementFromPoint(195, 420).closest("#thread") !== null')).toBe(
      true,
    );
    expect(await pageWidth()).toBeLessThanOrEqual(PHONE.width);
    await phone.screenshot({ path: join(ARTIFACTS, 'sandbox-phone-thread.png') });

    await close.click();
    await expect.poll(() => phone.locator('#thread').isVisible()).toBe(false);
    expect(await box('main.channel')).toMatchObject({ x: 0, width: PHONE.width });

    // The report, at this width too.
    const reports = phone.locator('#messages .bk-markdown');
    const reportsBefore = await reports.count();
    await phone.locator('#composer-input').fill('/deploy report');
    await phone.locator('#composer-input').press('Enter');
    await expect.poll(() => reports.count()).toBe(reportsBefore + 1);
    await reports.last().locator('h1').scrollIntoViewIfNeeded();
    expect(await pageWidth()).toBeLessThanOrEqual(PHONE.width);
    await phone.screenshot({ path: join(ARTIFACTS, 'sandbox-phone-report.png') });
    await phone.close();
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
