import { describe, expect, it } from 'vitest';
import {
  formatSlackDate,
  mrkdwn,
  type RenderContext,
  renderBlocks,
} from '../../../src/sandbox/web/blockkit.js';

/**
 * The sandbox page's Block Kit and mrkdwn rendering (plain browser JavaScript, no DOM needed): Slack's
 * formatting comes out as HTML, mentions by name, and nothing the bot (or a person's reason) says can
 * become markup.
 */

const registered: unknown[] = [];
const ctx: RenderContext = {
  interactive: true,
  people: [{ id: 'U0DEPLOYER', realName: 'Dana Deployer' }],
  userName: (id) => (id === 'U0DEPLOYER' ? 'Dana Deployer' : id),
  channelName: (id) => (id === 'C0DEMO' ? 'demo' : id.toLowerCase()),
  link: (url, label) => `<a href="${url}">${label ?? url}</a>`,
  register: (element) => {
    registered.push(element);
    return `e${registered.length}`;
  },
};

describe('mrkdwn', () => {
  it('renders bold, italic, strike, inline code and code blocks', () => {
    expect(mrkdwn('*Open* · _owner: deployer_ · ~old~', ctx)).toBe(
      '<b>Open</b> · <i>owner: deployer</i> · <s>old</s>',
    );
    expect(mrkdwn('run `kubectl get pods` now', ctx)).toBe('run <code>kubectl get pods</code> now');
    expect(mrkdwn('```\nkubectl rollout undo\n*not bold*\n```', ctx)).toBe(
      '<pre>kubectl rollout undo\n*not bold*\n</pre>',
    );
    // Inside words and around spaces nothing is emphasised, as in Slack.
    expect(mrkdwn('snake_case_name and 2 * 3 * 4', ctx)).toBe('snake_case_name and 2 * 3 * 4');
  });

  it('shows mentions by name, channels by name, and links with their text', () => {
    expect(mrkdwn('done by <@U0DEPLOYER> in <#C0DEMO>', ctx)).toBe(
      'done by <span class="mention" data-user="U0DEPLOYER">@Dana Deployer</span> in <a class="mention channel-link" href="#" data-channel="C0DEMO">#demo</a>',
    );
    expect(mrkdwn('<https://grafana.example.com/d/1?a=1&amp;b=2|Grafana> and <https://x.example>', ctx)).toBe(
      '<a href="https://grafana.example.com/d/1?a=1&b=2">Grafana</a> and <a href="https://x.example">https://x.example</a>',
    );
    expect(mrkdwn('<!subteam^S0PLATFORM> <!here>', ctx)).toBe(
      '<span class="mention">@s0platform</span> <span class="mention">@here</span>',
    );
  });

  it('keeps escaped characters as text and never lets text become markup', () => {
    expect(mrkdwn('error rate 0.01% &lt; 1% &amp; p95 &gt; 0', ctx)).toBe(
      'error rate 0.01% &lt; 1% &amp; p95 &gt; 0',
    );
    const hostile = mrkdwn('skipped: “&lt;img src=x onerror=alert(1)&gt;” "quoted" \'single\'', ctx);
    expect(hostile).not.toContain('<img');
    expect(hostile).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(hostile).toContain('&quot;quoted&quot; &#39;single&#39;');
    expect(mrkdwn('*&lt;b&gt;*', ctx)).toBe('<b>&lt;b&gt;</b>');
  });

  it('renders quotes and line breaks', () => {
    expect(mrkdwn('first\n&gt; quoted\n&gt; more\nlast', ctx)).toBe(
      'first<blockquote>quoted<br>more</blockquote>last',
    );
  });

  it('formats <!date^…> in the reader’s time zone, with Slack’s relative days', () => {
    const now = new Date(2026, 10, 23, 15, 0, 0);
    const seconds = Math.floor(new Date(2026, 10, 23, 14, 5, 0).getTime() / 1000);
    expect(formatSlackDate(seconds, '{date_short_pretty} {time}', now)).toBe('Today 14:05');
    expect(formatSlackDate(seconds - 86_400, '{date_pretty}', now)).toBe('yesterday');
    expect(formatSlackDate(seconds, '{date_num}', now)).toBe('2026-11-23');
    expect(formatSlackDate(seconds, '{date_long}', now)).toBe('Monday, November 23rd, 2026');
    expect(mrkdwn(`started <!date^${seconds}^{time}|14:05 UTC>`, ctx)).toMatch(
      /^started <time>\d\d:05<\/time>$/,
    );
  });
});

describe('blocks', () => {
  it('renders a status card: header, fields, context, and buttons with their styles and values', () => {
    const html = renderBlocks(
      [
        { type: 'header', block_id: 'h', text: { type: 'plain_text', text: 'demo 1.2.3 → production' } },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*Service*\ndemo' },
            { type: 'mrkdwn', text: '*Version*\n`1.2.3`' },
          ],
        },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'started by <@U0DEPLOYER>' }] },
        { type: 'divider' },
        {
          type: 'actions',
          block_id: 'card.actions',
          elements: [
            {
              type: 'button',
              action_id: 'deployment.rollback',
              style: 'danger',
              value: 'd1|card',
              text: { type: 'plain_text', text: 'Roll back…' },
            },
            {
              type: 'button',
              action_id: 'item.done',
              style: 'primary',
              value: 'd1|x',
              text: { type: 'plain_text', text: '✓ Done' },
            },
            {
              type: 'button',
              action_id: 'deployment.pause',
              value: 'd1|card',
              text: { type: 'plain_text', text: 'Pause' },
            },
          ],
        },
      ],
      ctx,
    );
    expect(html).toContain('<div class="bk-header" data-block-id="h">demo 1.2.3 → production</div>');
    expect(html).toContain('<div class="bk-field"><b>Service</b><br>demo</div>');
    expect(html).toContain('<code>1.2.3</code>');
    expect(html).toContain('@Dana Deployer');
    expect(html).toContain('<hr class="bk-divider">');
    expect(html).toMatch(
      /class="bk-button danger"[^>]*data-action-id="deployment.rollback"[^>]*data-value="d1\|card"/,
    );
    expect(html).toMatch(/class="bk-button primary"[^>]*data-action-id="item.done"/);
    expect(html).toMatch(/class="bk-button" [^>]*data-action-id="deployment.pause"/);
  });

  it('renders an overflow menu with its options, and disables controls where clicks cannot go', () => {
    const overflow = {
      type: 'section',
      block_id: 'i|check',
      text: { type: 'mrkdwn', text: '⚠️ *Health*' },
      accessory: {
        type: 'overflow',
        action_id: 'check.menu',
        options: [
          { text: { type: 'plain_text', text: '↻ Re-run' }, value: 'rerun|d1|check' },
          { text: { type: 'plain_text', text: 'Override…' }, value: 'override|d1|check' },
        ],
      },
    };
    const html = renderBlocks([overflow], ctx);
    expect(html).toContain('data-option="rerun|d1|check"');
    expect(html).toContain('data-option="override|d1|check"');
    expect(html).toContain('<div class="bk-menu" role="menu" hidden>');
    expect(renderBlocks([overflow], { ...ctx, interactive: false })).toMatch(
      /bk-overflow-toggle"[^>]*disabled/,
    );
  });

  it('renders modal inputs: text (single and multi-line), selects, checkboxes, radios; required or optional', () => {
    const html = renderBlocks(
      [
        {
          type: 'input',
          block_id: 'reason',
          label: { type: 'plain_text', text: 'Reason' },
          element: {
            type: 'plain_text_input',
            action_id: 'r',
            multiline: true,
            min_length: 3,
            max_length: 1000,
          },
        },
        {
          type: 'input',
          block_id: 'impact',
          optional: true,
          label: { type: 'plain_text', text: 'User impact' },
          element: { type: 'plain_text_input', action_id: 'i', initial_value: 'none "really"' },
        },
        {
          type: 'input',
          block_id: 'env',
          label: { type: 'plain_text', text: 'Environment' },
          element: {
            type: 'static_select',
            action_id: 'e',
            options: [
              { text: { type: 'plain_text', text: 'Production' }, value: 'prod' },
              { text: { type: 'plain_text', text: 'Staging' }, value: 'staging' },
            ],
            initial_option: { text: { type: 'plain_text', text: 'Staging' }, value: 'staging' },
          },
        },
        {
          type: 'input',
          block_id: 'checks',
          label: { type: 'plain_text', text: 'Checks' },
          element: {
            type: 'checkboxes',
            action_id: 'c',
            options: [
              { text: { type: 'plain_text', text: 'Smoke' }, value: 'smoke' },
              { text: { type: 'mrkdwn', text: '*Load*' }, value: 'load' },
            ],
          },
        },
        {
          type: 'input',
          block_id: 'severity',
          label: { type: 'plain_text', text: 'Severity' },
          element: {
            type: 'radio_buttons',
            action_id: 's',
            options: [{ text: { type: 'plain_text', text: 'Minor' }, value: 'minor' }],
          },
        },
      ],
      { ...ctx, interactive: false },
    );
    expect(html).toMatch(
      /<textarea id="in-reason" data-input="reason" data-kind="text" rows="4" minlength="3" maxlength="1000">/,
    );
    expect(html).toContain('data-block="reason" data-required="true" data-min="3"');
    expect(html).toContain('data-block="impact" data-required="false"');
    expect(html).toContain('User impact <span class="optional">(optional)</span>');
    expect(html).toContain('value="none &quot;really&quot;"');
    expect(html).toContain('<option value="staging" selected>Staging</option>');
    expect(html).toContain('<input type="checkbox" name="in-checks" value="load"> <span><b>Load</b></span>');
    expect(html).toContain('<input type="radio" name="in-severity" value="minor">');
  });
});
