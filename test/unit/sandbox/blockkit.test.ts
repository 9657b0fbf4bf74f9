import { describe, expect, it } from 'vitest';
import { checklistSchema } from '../../../src/checklists/schema.js';
import { decide, startDeployment } from '../../../src/deployments/engine.js';
import { renderReportMarkdown } from '../../../src/reports/markdown.js';
import { buildReport } from '../../../src/reports/report.js';
import {
  formatSlackDate,
  markdown,
  mrkdwn,
  type RenderContext,
  renderBlocks,
} from '../../../src/sandbox/web/page/blockkit.js';

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

describe('markdown block (standard Markdown, as `/deploy report` sends it)', () => {
  it('renders headings, paragraphs with line breaks, emphasis, links and rules', () => {
    expect(markdown('# Report\n\n## Phases\n###### small #', ctx)).toBe(
      '<h1>Report</h1><h2>Phases</h2><h6>small</h6>',
    );
    expect(markdown('Title\n===\n\nSub\n---', ctx)).toBe('<h1>Title</h1><h2>Sub</h2>');
    expect(markdown('**Outcome:** rolled back, *fast* and __sure__, _really_ ~~not~~', ctx)).toBe(
      '<p><strong>Outcome:</strong> rolled back, <em>fast</em> and <strong>sure</strong>, <em>really</em> <del>not</del></p>',
    );
    // Slack keeps a message's line breaks; snake_case and 2 * 3 stay as they are.
    expect(markdown('first line\nsecond snake_case_name, 2 * 3 * 4', ctx)).toBe(
      '<p>first line<br>second snake_case_name, 2 * 3 * 4</p>',
    );
    expect(
      markdown('see [Grafana](https://grafana.example.com/d/1?a=1&b=2) or <https://x.example>', ctx),
    ).toBe(
      '<p>see <a href="https://grafana.example.com/d/1?a=1&b=2">Grafana</a> or <a href="https://x.example">https://x.example</a></p>',
    );
    expect(markdown('above\n\n---\n\n* * *\nbelow', ctx)).toBe('<p>above</p><hr><hr><p>below</p>');
  });

  it('renders inline code and fenced code blocks, where nothing is formatting', () => {
    expect(markdown('run `kubectl get pods` and ``a `tick` b``', ctx)).toBe(
      '<p>run <code>kubectl get pods</code> and <code>a `tick` b</code></p>',
    );
    expect(markdown('```sh\nkubectl rollout undo deploy/demo\n**not bold** <b>\n```\nafter', ctx)).toBe(
      '<pre><code>kubectl rollout undo deploy/demo\n**not bold** &lt;b&gt;</code></pre><p>after</p>',
    );
    expect(markdown('~~~\nunclosed', ctx)).toBe('<pre><code>unclosed</code></pre>');
  });

  it('renders bulleted and numbered lists, nested, tight or loose', () => {
    expect(markdown('- one\n- two\n  - two a\n  - two b\n- three', ctx)).toBe(
      '<ul><li>one</li><li>two<ul><li>two a</li><li>two b</li></ul></li><li>three</li></ul>',
    );
    expect(markdown('3. third\n4. fourth\n   1. inner', ctx)).toBe(
      '<ol start="3"><li>third</li><li>fourth<ol><li>inner</li></ol></li></ol>',
    );
    // A list may follow a paragraph line directly; blank lines between items make the list loose.
    expect(markdown('Failed runs:\n- a\n\n- b', ctx)).toBe(
      '<p>Failed runs:</p><ul><li><p>a</p></li><li><p>b</p></li></ul>',
    );
    expect(markdown('- item\n\n  more of it\n\nafter', ctx)).toBe(
      '<ul><li><p>item</p><p>more of it</p></li></ul><p>after</p>',
    );
  });

  it('renders GFM tables with their alignment, escaped pipes and missing cells', () => {
    expect(
      markdown(
        '| Check | Runs | Result |\n|:--|--:|:-:|\n| Error rate | 2 | `0.05%` |\n| a \\| b | 1 |\n\nafter',
        ctx,
      ),
    ).toBe(
      '<div class="bk-table"><table><thead><tr><th class="align-left">Check</th><th class="align-right">Runs</th><th class="align-center">Result</th></tr></thead>' +
        '<tbody><tr><td class="align-left">Error rate</td><td class="align-right">2</td><td class="align-center"><code>0.05%</code></td></tr>' +
        '<tr><td class="align-left">a | b</td><td class="align-right">1</td><td class="align-center"></td></tr></tbody></table></div><p>after</p>',
    );
    // Without a delimiter row it is a paragraph with pipes in it.
    expect(markdown('a | b\nc | d', ctx)).toBe('<p>a | b<br>c | d</p>');
  });

  it('renders block quotes, and mentions and channels by name', () => {
    expect(
      markdown('> The rollback was quick.\n> Nobody panicked.\n\nby <@U0DEPLOYER> in <#C0DEMO>', ctx),
    ).toBe(
      '<blockquote><p>The rollback was quick.<br>Nobody panicked.</p></blockquote><p>by <span class="mention" data-user="U0DEPLOYER">@Dana Deployer</span> in <a class="mention channel-link" href="#" data-channel="C0DEMO">#demo</a></p>',
    );
  });

  it('never lets text become markup: HTML in cells, headings, code and links stays text', () => {
    const hostile = markdown(
      [
        '# <script>alert(1)</script>',
        '',
        '| Reason | By |',
        '| --- | --- |',
        '| <img src=x onerror=alert(1)> | <script>alert(2)</script> |',
        '',
        '`<b>code</b>` and [click](javascript:alert(3)) and <javascript:alert(4)>',
        '',
        '```',
        '</code></pre><script>alert(5)</script>',
        '```',
        '\uE0000\uE001 "quoted" \'single\'',
      ].join('\n'),
      ctx,
    );
    expect(hostile).not.toMatch(/<(script|img)/);
    expect(hostile).not.toContain('javascript:alert(3)"');
    expect(hostile).not.toContain('href="javascript');
    expect(hostile).toContain('<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>');
    expect(hostile).toContain(
      '<td>&lt;img src=x onerror=alert(1)&gt;</td><td>&lt;script&gt;alert(2)&lt;/script&gt;</td>',
    );
    expect(hostile).toContain(
      '<code>&lt;b&gt;code&lt;/b&gt;</code> and click and &lt;javascript:alert(4)&gt;',
    );
    expect(hostile).toContain(
      '<pre><code>&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;alert(5)&lt;/script&gt;</code></pre>',
    );
    expect(hostile).toContain('&quot;quoted&quot; &#39;single&#39;');
    expect(hostile).not.toContain('undefined');
  });

  it('renders a markdown block in a message', () => {
    expect(renderBlocks([{ type: 'markdown', block_id: 'r', text: '## Phases\n1. **Prepare**' }], ctx)).toBe(
      '<div class="bk-markdown" data-block-id="r"><h2>Phases</h2><ol><li><strong>Prepare</strong></li></ol></div>',
    );
  });

  it('renders a real deployment report: headings, its lists, code, and people’s words as text', () => {
    const checklist = checklistSchema.parse({
      id: 'small',
      title: 'Small release',
      phases: [
        {
          id: 'prepare',
          title: 'Prepare',
          items: [
            { id: 'notes', kind: 'manual', title: 'Release notes written' },
            { id: 'backup', kind: 'manual', title: 'Database backup created' },
          ],
        },
        { id: 'ship', title: 'Ship', items: [{ id: 'smoke', kind: 'manual', title: 'Smoke test' }] },
      ],
    });
    const T0 = Date.UTC(2026, 10, 23, 14, 0, 0);
    const started = startDeployment(checklist, {
      id: 'd-report',
      service: 'checkout',
      environment: 'production',
      version: '2.4.0',
      channel: 'C0CHECKOUT',
      requestedBy: 'U0DEPLOYER',
      deployers: ['deployer'],
      at: T0,
    });
    const skipped = decide(checklist, started.state, {
      type: 'resolve-item',
      itemId: 'backup',
      resolution: 'skipped',
      reason: '<img src=x onerror=alert(1)> | *not bold* `tick`',
      actor: 'U0DEPLOYER',
      actorRoles: ['deployer'],
      at: T0 + 60_000,
    });
    if (!skipped.ok) throw new Error(skipped.message);
    const report = buildReport(
      skipped.state,
      checklist,
      [...started.events, ...skipped.events],
      T0 + 120_000,
    );
    const html = markdown(renderReportMarkdown(report), ctx);

    expect(html).toMatch(
      /^<h1>Deployment report: checkout 2\.4\.0 → production<\/h1><ul><li><strong>Outcome:<\/strong> /,
    );
    const headings = [...html.matchAll(/<h2>(.*?)<\/h2>/g)].map((match) => match[1]);
    expect(headings).toEqual([
      'Deployment Metrics',
      'Phases',
      'Traffic',
      'Rollback',
      'Checks',
      'Skipped items',
      'Overridden checks',
      'Not applicable',
      'Not done',
      'Sign-offs',
      'Escalations',
      'Rollback triggers',
      'Refused attempts',
      'Follow-up phases',
      'Retrospective',
    ]);
    expect(html).toContain('<li><strong>Checklist:</strong> Small release (<code>small</code>)</li>');
    expect(html).toContain(
      '<li><strong>Requested by:</strong> <span class="mention" data-user="U0DEPLOYER">@Dana Deployer</span></li>',
    );
    expect(html).toMatch(
      /<h2>Phases<\/h2><ol><li><strong>Prepare<\/strong> — .*?<\/li><li><strong>Ship<\/strong> — not reached \(0\/1 items\)<\/li><\/ol>/,
    );
    expect(html).toContain(
      '<h2>Skipped items</h2><ul><li><strong>Database backup created</strong> (Prepare) — <span class="mention" data-user="U0DEPLOYER">@Dana Deployer</span> at 14:01:00: “&lt;img src=x onerror=alert(1)&gt; | *not bold* `tick`”</li></ul>',
    );
    expect(html).toContain('<h2>Rollback</h2><p>Not rolled back.</p>');
    expect(html).not.toMatch(/<img|[*#]{2}|\\/);
  });
});
