// Block Kit and mrkdwn as HTML, close enough to Slack's rendering to read a deployment thread: header,
// section (text, fields, accessory), context, divider, image, markdown (standard Markdown, for the
// report), actions (buttons with primary/danger styles and confirm dialogs, overflow menus, static
// selects), and the input blocks of modals. Every piece of text is escaped here; nothing the bot sends
// reaches innerHTML unescaped.

const HTML_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** Slack escapes only &, < and > in message text; they come back as characters before we escape for HTML. */
function decodeSlack(text) {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const EMOJI = {
  white_check_mark: '✅',
  heavy_check_mark: '✔️',
  x: '❌',
  warning: '⚠️',
  rotating_light: '🚨',
  rocket: '🚀',
  hourglass: '⌛',
  hourglass_flowing_sand: '⏳',
  stopwatch: '⏱️',
  pager: '📟',
  memo: '📝',
  clipboard: '📋',
  eyes: '👀',
  tada: '🎉',
  leftwards_arrow_with_hook: '↩️',
  red_circle: '🔴',
  large_green_circle: '🟢',
  large_blue_circle: '🔵',
  black_square_button: '🔲',
  no_entry: '⛔',
  bell: '🔔',
  fire: '🔥',
  lock: '🔒',
};

function emojify(html) {
  return html.replace(/:([a-z0-9_+-]+):/g, (match, name) => EMOJI[name] ?? match);
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function ordinal(n) {
  const s = ['th', 'st', 'nd', 'rd'];
  const v = n % 100;
  return `${n}${s[(v - 20) % 10] ?? s[v] ?? s[0]}`;
}

function pad(n) {
  return String(n).padStart(2, '0');
}

/** `<!date^seconds^{token} text|fallback>` in the reader's time zone, as Slack shows it. */
export function formatSlackDate(seconds, format, now = new Date()) {
  const date = new Date(seconds * 1000);
  const dayDiff = Math.round(
    (new Date(date.getFullYear(), date.getMonth(), date.getDate()) -
      new Date(now.getFullYear(), now.getMonth(), now.getDate())) /
      86_400_000,
  );
  const relative =
    dayDiff === 0 ? 'today' : dayDiff === -1 ? 'yesterday' : dayDiff === 1 ? 'tomorrow' : undefined;
  const tokens = {
    date_num: `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`,
    date: `${MONTHS[date.getMonth()]} ${ordinal(date.getDate())}, ${date.getFullYear()}`,
    date_short: `${MONTHS[date.getMonth()].slice(0, 3)} ${date.getDate()}, ${date.getFullYear()}`,
    date_long: `${DAYS[date.getDay()]}, ${MONTHS[date.getMonth()]} ${ordinal(date.getDate())}, ${date.getFullYear()}`,
    time: `${pad(date.getHours())}:${pad(date.getMinutes())}`,
    time_secs: `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`,
  };
  tokens.date_pretty = relative ?? tokens.date;
  tokens.date_short_pretty = relative
    ? relative.charAt(0).toUpperCase() + relative.slice(1)
    : tokens.date_short;
  tokens.date_long_pretty = relative ?? tokens.date_long;
  const ago = Math.round((now - date) / 1000);
  tokens.ago =
    ago < 60
      ? 'just now'
      : ago < 3600
        ? `${Math.round(ago / 60)} minutes ago`
        : `${Math.round(ago / 3600)} hours ago`;
  return format.replace(/\{(\w+)\}/g, (match, token) => tokens[token] ?? match);
}

/**
 * A control sequence `<…>` as HTML: user and channel mentions (shown by name), special mentions, user
 * groups, dates and links. `ctx.userName(id)`, `ctx.channelName(id)` and `ctx.link(url, label)` come
 * from the page.
 */
function controlSequence(body, ctx) {
  const [target, ...rest] = body.split('|');
  const label = rest.length > 0 ? rest.join('|') : undefined;
  if (target.startsWith('@')) {
    const id = target.slice(1);
    return `<span class="mention" data-user="${escapeHtml(id)}">@${escapeHtml(label ?? ctx.userName(id))}</span>`;
  }
  if (target.startsWith('#')) {
    const id = target.slice(1);
    return `<a class="mention channel-link" href="#" data-channel="${escapeHtml(id)}">#${escapeHtml(label ?? ctx.channelName(id))}</a>`;
  }
  if (target.startsWith('!subteam^')) {
    const id = target.slice('!subteam^'.length);
    return `<span class="mention">@${escapeHtml(label ?? id.toLowerCase())}</span>`;
  }
  if (target.startsWith('!date^')) {
    const [, seconds, format] = target.split('^');
    return `<time>${escapeHtml(formatSlackDate(Number(seconds), format ?? '{date_num}'))}</time>`;
  }
  if (target.startsWith('!')) return `<span class="mention">@${escapeHtml(label ?? target.slice(1))}</span>`;
  return ctx.link(decodeSlack(target), label === undefined ? undefined : decodeSlack(label));
}

/** Bold, italic, strike and line breaks over already-escaped HTML (placeholders stand for `<…>` pieces). */
function emphasis(html) {
  const edge = '(^|[\\s(>“"\'\\uE000-]|&quot;|&#39;)';
  const end = '(?=$|[\\s.,;:!?)<”"\'\\uE000-]|&quot;|&#39;)';
  return html
    .replace(new RegExp(`${edge}\\*(?!\\s)([^*\\n]+?)\\*${end}`, 'g'), '$1<b>$2</b>')
    .replace(new RegExp(`${edge}_(?!\\s)([^_\\n]+?)_${end}`, 'g'), '$1<i>$2</i>')
    .replace(new RegExp(`${edge}~(?!\\s)([^~\\n]+?)~${end}`, 'g'), '$1<s>$2</s>');
}

/** Text with `code` spans, control sequences and emphasis. */
function inline(text, ctx) {
  const parts = text.split(/(`[^`\n]+`)/);
  return parts
    .map((part, index) => {
      if (index % 2 === 1) return `<code>${escapeHtml(decodeSlack(part.slice(1, -1)))}</code>`;
      const pieces = [];
      const withPlaceholders = part.replace(/<([^<>\n]+)>/g, (_, body) => {
        pieces.push(controlSequence(body, ctx));
        return `\uE000${pieces.length - 1}\uE000`;
      });
      const html = emojify(emphasis(escapeHtml(decodeSlack(withPlaceholders))));
      return html.replace(/\uE000(\d+)\uE000/g, (_, n) => pieces[Number(n)]);
    })
    .join('');
}

/** Slack mrkdwn as HTML: ```blocks```, `code`, *bold*, _italic_, ~strike~, > quotes, <links|text>, mentions. */
export function mrkdwn(text, ctx) {
  const chunks = String(text ?? '').split('```');
  return chunks
    .map((chunk, index) => {
      if (index % 2 === 1) return `<pre>${escapeHtml(decodeSlack(chunk.replace(/^\n/, '')))}</pre>`;
      const lines = chunk.split('\n');
      const out = [];
      let quote = [];
      const flush = () => {
        if (quote.length > 0) out.push(`<blockquote>${quote.join('<br>')}</blockquote>`);
        quote = [];
      };
      for (const line of lines) {
        const quoted = /^(?:&gt;|>)\s?(.*)$/.exec(line);
        if (quoted) quote.push(inline(quoted[1], ctx));
        else {
          flush();
          out.push(inline(line, ctx));
        }
      }
      flush();
      return out
        .join('<br>')
        .replace(/<br>(<blockquote>)/g, '$1')
        .replace(/(<\/blockquote>)<br>/g, '$1');
    })
    .join('');
}

/** A text object (plain_text or mrkdwn). */
export function textObject(object, ctx) {
  if (!object) return '';
  if (object.type === 'mrkdwn') return mrkdwn(object.text, ctx);
  const html = escapeHtml(object.text ?? '').replace(/\n/g, '<br>');
  return object.emoji === false ? html : emojify(html);
}

function plain(object) {
  return escapeHtml(object?.text ?? '');
}

// ---------------------------------------------------------------------------------------------------
// The markdown block: standard Markdown (CommonMark, with GFM tables and ~~strikethrough~~) as Slack
// shows it. Line-based: each block construct is one function that takes the lines and where to start,
// and returns { html, next } (its HTML and the line after it), or undefined when the line is not its
// own. Not supported: HTML (shown as text, as Slack does), indented code blocks, reference links,
// images, bare URLs and lazy continuation lines in quotes.

/** Markdown as HTML; `ctx` as for mrkdwn (mentions, channels and links look the same in both). */
export function markdown(text, ctx) {
  const lines = String(text ?? '')
    .replace(/[\uE000\uE001]/g, '\uFFFD') // the placeholders markdownInline() uses; never from the text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.replace(/^[ \t]+/, (indent) => indent.replace(/\t/g, '    ')));
  return markdownBlocks(lines, ctx, false);
}

const BLOCK_CONSTRUCTS = [fencedCode, atxHeading, thematicBreak, blockQuote, list, table];

/** The blocks in `lines`. In a tight list item (`tight`) paragraphs are bare text, without <p>. */
function markdownBlocks(lines, ctx, tight) {
  const out = [];
  let at = 0;
  while (at < lines.length) {
    if (isBlank(lines[at])) {
      at += 1;
      continue;
    }
    let block;
    for (const construct of BLOCK_CONSTRUCTS) {
      block = construct(lines, at, ctx);
      if (block) break;
    }
    block ??= paragraph(lines, at, ctx, tight);
    out.push(block.html);
    at = block.next;
  }
  return out.join('');
}

function isBlank(line) {
  return /^\s*$/.test(line);
}

function indentOf(line) {
  return /^ */.exec(line)[0].length;
}

const FENCE = /^( {0,3})(`{3,}|~{3,})(.*)$/;
const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const THEMATIC_BREAK = /^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
const QUOTE = /^ {0,3}>/;
const LIST_MARKER = /^( {0,3})([-+*]|(\d{1,9})[.)])([ \t]+|$)/;

/** ``` or ~~~ up to the same fence (or the end): the lines as they are, no formatting. */
function fencedCode(lines, at) {
  const open = FENCE.exec(lines[at]);
  // A backtick fence's info string has no backticks: "```a``` b" is inline code, not a fence.
  if (!open || (open[2][0] === '`' && open[3].includes('`'))) return undefined;
  const [, indent, fence] = open;
  const body = [];
  let next = at + 1;
  for (; next < lines.length; next += 1) {
    const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(lines[next]);
    if (close && close[1][0] === fence[0] && close[1].length >= fence.length) {
      next += 1;
      break;
    }
    // The content loses as much indentation as the opening fence had.
    body.push(lines[next].slice(Math.min(indent.length, indentOf(lines[next]))));
  }
  // The language after the fence is dropped: Slack shows code blocks without highlighting.
  return { html: `<pre><code>${escapeHtml(body.join('\n'))}</code></pre>`, next };
}

/** # Heading … ###### Heading, with an optional closing run of #. */
function atxHeading(lines, at, ctx) {
  const match = ATX_HEADING.exec(lines[at]);
  if (!match) return undefined;
  const level = match[1].length;
  return { html: `<h${level}>${markdownInline(match[2] ?? '', ctx)}</h${level}>`, next: at + 1 };
}

/** ---, *** or ___ on a line of their own. */
function thematicBreak(lines, at) {
  return THEMATIC_BREAK.test(lines[at]) ? { html: '<hr>', next: at + 1 } : undefined;
}

/** Lines starting with >: their content, less the >, is Markdown again. */
function blockQuote(lines, at, ctx) {
  if (!QUOTE.test(lines[at])) return undefined;
  const inner = [];
  let next = at;
  for (; next < lines.length && QUOTE.test(lines[next]); next += 1)
    inner.push(lines[next].replace(/^ {0,3}> ?/, ''));
  return { html: `<blockquote>${markdownBlocks(inner, ctx, false)}</blockquote>`, next };
}

/** A list item's marker: `- `, `* `, `+ `, `1. ` or `1) `; `offset` is where its content starts. */
function listMarker(line) {
  const match = LIST_MARKER.exec(line);
  if (!match) return undefined;
  const [whole, indent, marker, number, spaces] = match;
  // Content with more than 4 spaces before it, or none, starts one space after the marker.
  const offset =
    spaces.length > 4 || isBlank(line.slice(whole.length)) ? indent.length + marker.length + 1 : whole.length;
  return {
    ordered: number !== undefined,
    start: Number(number ?? 1),
    // Items of one list share the bullet, or the delimiter after the number.
    kind: marker.at(-1),
    offset,
    text: line.slice(offset),
  };
}

/** A bulleted or numbered list; an item's content (less its indentation) is Markdown again. */
function list(lines, at, ctx) {
  const first = listMarker(lines[at]);
  if (!first) return undefined;
  const sibling = (line) => !THEMATIC_BREAK.test(line) && listMarker(line)?.kind === first.kind;
  const items = [];
  let loose = false;
  let next = at;
  while (next < lines.length && sibling(lines[next])) {
    const item = listItem(lines, next);
    items.push(item.lines);
    loose ||= item.loose;
    next = item.next;
    // Blank lines after an item: the list goes on (and is loose) only if another item follows.
    let after = next;
    while (after < lines.length && isBlank(lines[after])) after += 1;
    if (after === next) continue;
    if (after < lines.length && sibling(lines[after])) {
      loose = true;
      next = after;
    } else break;
  }
  const tag = first.ordered ? 'ol' : 'ul';
  const start = first.ordered && first.start !== 1 ? ` start="${first.start}"` : '';
  const html = items.map((item) => `<li>${markdownBlocks(item, ctx, !loose)}</li>`).join('');
  return { html: `<${tag}${start}>${html}</${tag}>`, next };
}

/** One item: its first line, lines indented to its content, and unindented text carrying on its paragraph. */
function listItem(lines, at) {
  const marker = listMarker(lines[at]);
  const content = [marker.text];
  let loose = false;
  let next = at + 1;
  while (next < lines.length) {
    const line = lines[next];
    if (isBlank(line)) {
      let after = next;
      while (after < lines.length && isBlank(lines[after])) after += 1;
      if (after === lines.length || indentOf(lines[after]) < marker.offset) break;
      content.push(...lines.slice(next, after).map(() => ''));
      loose = true;
      next = after;
    } else if (indentOf(line) >= marker.offset) {
      content.push(line.slice(marker.offset));
      next += 1;
    } else if (!isBlank(content.at(-1)) && !listMarker(line) && !interruptsParagraph(lines, next)) {
      content.push(line.trimStart());
      next += 1;
    } else break;
  }
  return { lines: content, loose, next };
}

/** A GFM table: a header row, a delimiter row (---, :--, --:, :-:) and body rows up to a blank line. */
function table(lines, at, ctx) {
  if (!isTableStart(lines, at)) return undefined;
  const header = tableCells(lines[at]);
  const aligns = tableCells(lines[at + 1]).map(alignment);
  const rows = [];
  let next = at + 2;
  for (; next < lines.length && !isBlank(lines[next]) && !interruptsParagraph(lines, next); next += 1)
    rows.push(tableCells(lines[next]));
  // Every row has the header's cells: missing ones are empty, extra ones dropped (as on GitHub).
  const row = (cells, tag) =>
    `<tr>${header
      .map((_, index) => {
        const align = aligns[index] ? ` class="align-${aligns[index]}"` : '';
        return `<${tag}${align}>${markdownInline(cells[index] ?? '', ctx)}</${tag}>`;
      })
      .join('')}</tr>`;
  const body = rows.length > 0 ? `<tbody>${rows.map((cells) => row(cells, 'td')).join('')}</tbody>` : '';
  // The wrapper scrolls a wide table sideways, so it never widens the page (phones).
  return {
    html: `<div class="bk-table"><table><thead>${row(header, 'th')}</thead>${body}</table></div>`,
    next,
  };
}

function isTableStart(lines, at) {
  if (at + 1 >= lines.length || !lines[at].includes('|')) return false;
  const delimiters = tableCells(lines[at + 1]);
  return (
    delimiters.every((cell) => /^:?-+:?$/.test(cell)) && delimiters.length === tableCells(lines[at]).length
  );
}

/** A row's cells: split at pipes (not at \|), without the optional outer pipes. */
function tableCells(line) {
  let row = line.trim();
  if (row.startsWith('|')) row = row.slice(1);
  if (row.endsWith('|') && !row.endsWith('\\|')) row = row.slice(0, -1);
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

function alignment(delimiter) {
  const left = delimiter.startsWith(':');
  const right = delimiter.endsWith(':');
  return left && right ? 'center' : right ? 'right' : left ? 'left' : '';
}

/** Lines up to a blank line or the start of another block; `Title` over === or --- is a heading. */
function paragraph(lines, at, ctx, tight) {
  const text = [lines[at].trim()];
  let next = at + 1;
  for (; next < lines.length && !isBlank(lines[next]); next += 1) {
    const underline = SETEXT_UNDERLINE.exec(lines[next]);
    if (underline) {
      const level = underline[1][0] === '=' ? 1 : 2;
      return { html: `<h${level}>${markdownInline(text.join('\n'), ctx)}</h${level}>`, next: next + 1 };
    }
    if (interruptsParagraph(lines, next)) break;
    text.push(lines[next].trim());
  }
  const html = markdownInline(text.join('\n'), ctx);
  return { html: tight ? html : `<p>${html}</p>`, next };
}

/** Whether the line starts a block that ends a paragraph before it (CommonMark's rules, roughly). */
function interruptsParagraph(lines, at) {
  const line = lines[at];
  const marker = listMarker(line);
  return (
    FENCE.test(line) ||
    ATX_HEADING.test(line) ||
    THEMATIC_BREAK.test(line) ||
    QUOTE.test(line) ||
    // A list interrupts a paragraph if its item has text; a numbered one only if it starts at 1.
    (marker !== undefined && !isBlank(marker.text) && marker.start === 1) ||
    isTableStart(lines, at)
  );
}

// Inline Markdown. Code spans, backslash escapes, <…> sequences and links are set aside first, as
// placeholders (\uE000 n \uE001) holding their finished HTML, so nothing inside them is formatted; the
// rest is escaped, then emphasis is applied, then the placeholders are put back. A link's address may
// hold one level of balanced parentheses, as in https://en.wikipedia.org/wiki/Canary_(bird).
const INLINE_TOKEN =
  /(`+)|\\([!-/:-@[-`{-~])|<([^<>\n]+)>|\[([^\]\n]*)\]\(\s*<?((?:[^\s<>()]|\([^\s<>()]*\))*)>?(?:\s+"[^"\n]*")?\s*\)/g;
const SAFE_URL = /^(?:https?:\/\/|mailto:)/i;

function markdownInline(text, ctx) {
  const pieces = [];
  const hold = (html) => `\uE000${pieces.push(html) - 1}\uE001`;
  const token = new RegExp(INLINE_TOKEN);
  let out = '';
  let last = 0;
  for (let match = token.exec(text); match; match = token.exec(text)) {
    const [, ticks, escaped, sequence, label, url] = match;
    let html;
    if (ticks) html = codeSpan(text, token, ticks.length);
    else if (escaped) html = escapeHtml(escaped);
    else if (sequence !== undefined) {
      html = markdownSequence(sequence, ctx);
      // Not a mention or a link (HTML, say): the < stays text and the scan goes on inside it.
      if (html === undefined) token.lastIndex = match.index + 1;
    } else html = markdownLink(label, url, ctx);
    if (html === undefined) continue; // an unclosed run of backticks stays text too
    out += text.slice(last, match.index) + hold(html);
    last = token.lastIndex;
  }
  out += text.slice(last);
  return emojify(markdownEmphasis(escapeHtml(decodeSlack(out))))
    .replace(/\n/g, '<br>')
    .replace(/\uE000(\d+)\uE001/g, (_, n) => pieces[Number(n)]);
}

/** `code` up to a run of as many backticks; moves the scan past it. Undefined when it never closes. */
function codeSpan(text, token, length) {
  const closing = new RegExp(`(?<!\`)\`{${length}}(?!\`)`, 'g');
  closing.lastIndex = token.lastIndex;
  const close = closing.exec(text);
  if (!close) return undefined;
  let code = text.slice(token.lastIndex, close.index).replace(/\n/g, ' ');
  // A space at each end is padding, so that a span can begin or end with a backtick: `` `tick` ``.
  if (/^ .*[^ ].* $/.test(code)) code = code.slice(1, -1);
  token.lastIndex = closing.lastIndex;
  return `<code>${escapeHtml(code)}</code>`;
}

/** <@U…>, <#C…>, <!here> and <https://…> as in mrkdwn; any other <…> (HTML, say) stays text. */
function markdownSequence(body, ctx) {
  return /^[@#!]/.test(body) || SAFE_URL.test(body) ? controlSequence(body, ctx) : undefined;
}

/** [label](url): a link for web and mail addresses; other schemes (javascript:) show the label only. */
function markdownLink(label, url, ctx) {
  const text = decodeSlack(label.replace(/\\([!-/:-@[-`{-~])/g, '$1'));
  return SAFE_URL.test(url) ? ctx.link(decodeSlack(url), text) : escapeHtml(text);
}

/** **bold**, __bold__, *italic*, _italic_ and ~~strike~~ over escaped HTML; _ not inside words. */
function markdownEmphasis(html) {
  const notWord = '(^|[^\\p{L}\\p{N}_])';
  const wordAfter = '(?![\\p{L}\\p{N}_])';
  return html
    .replace(/\*\*(?!\s)([^\n]*?\S)\*\*/g, '<strong>$1</strong>')
    .replace(new RegExp(`${notWord}__(?!\\s)([^\\n]*?\\S)__${wordAfter}`, 'gu'), '$1<strong>$2</strong>')
    .replace(/\*(?![\s*])([^*\n]*?[^\s*])\*/g, '<em>$1</em>')
    .replace(new RegExp(`${notWord}_(?![\\s_])([^_\\n]*?[^\\s_])_${wordAfter}`, 'gu'), '$1<em>$2</em>')
    .replace(/~~(?!\s)([^~\n]*?\S)~~/g, '<del>$1</del>');
}

// ---------------------------------------------------------------------------------------------------
// Interactive elements. `ctx.register(element, block)` returns an id the page finds the element by;
// `ctx.interactive` is false where clicks cannot go (ephemeral messages, old versions).

function button(element, block, ctx) {
  const style = element.style === 'primary' ? ' primary' : element.style === 'danger' ? ' danger' : '';
  const id = ctx.register(element, block);
  const attributes = [
    `class="bk-button${style}"`,
    `data-element="${id}"`,
    `data-action-id="${escapeHtml(element.action_id ?? '')}"`,
    element.value !== undefined ? `data-value="${escapeHtml(element.value)}"` : '',
    ctx.interactive ? '' : 'disabled',
    element.url ? `data-url="${escapeHtml(element.url)}"` : '',
  ];
  return `<button type="button" ${attributes.filter(Boolean).join(' ')}>${textObject(element.text, ctx)}</button>`;
}

function overflow(element, block, ctx) {
  const id = ctx.register(element, block);
  const options = (element.options ?? [])
    .map(
      (option) =>
        `<button type="button" role="menuitem" class="bk-menu-item" data-element="${id}" data-option="${escapeHtml(option.value)}">${textObject(option.text, ctx)}</button>`,
    )
    .join('');
  return `<div class="bk-overflow"><button type="button" class="bk-overflow-toggle" aria-label="More actions" aria-haspopup="menu" data-action-id="${escapeHtml(element.action_id ?? '')}" ${ctx.interactive ? '' : 'disabled'}>⋯</button><div class="bk-menu" role="menu" hidden>${options}</div></div>`;
}

function staticSelect(element, block, ctx) {
  const id = ctx.register(element, block);
  return `<select class="bk-select" data-element="${id}" ${ctx.interactive ? '' : 'disabled'}>${selectOptions(element)}</select>`;
}

function selectOptions(element, selected = []) {
  const initial =
    selected.length > 0
      ? selected
      : [element.initial_option?.value, ...(element.initial_options ?? []).map((o) => o.value)].filter(
          Boolean,
        );
  const option = (o) =>
    `<option value="${escapeHtml(o.value)}"${initial.includes(o.value) ? ' selected' : ''}>${plain(o.text)}</option>`;
  const placeholder =
    element.type === 'static_select' || element.type === 'users_select'
      ? `<option value=""${initial.length === 0 ? ' selected' : ''} disabled>${plain(element.placeholder ?? { text: 'Select an option' })}</option>`
      : '';
  const groups = (element.option_groups ?? [])
    .map(
      (group) =>
        `<optgroup label="${escapeHtml(group.label?.text ?? '')}">${(group.options ?? []).map(option).join('')}</optgroup>`,
    )
    .join('');
  return placeholder + (element.options ?? []).map(option).join('') + groups;
}

function image(element) {
  return `<img class="bk-image" src="${escapeHtml(element.image_url ?? '')}" alt="${escapeHtml(element.alt_text ?? '')}">`;
}

function element(element, block, ctx) {
  switch (element.type) {
    case 'button':
      return button(element, block, ctx);
    case 'overflow':
      return overflow(element, block, ctx);
    case 'static_select':
      return staticSelect(element, block, ctx);
    case 'image':
      return image(element);
    default:
      return `<span class="bk-unsupported">[${escapeHtml(element.type)}]</span>`;
  }
}

// ---------------------------------------------------------------------------------------------------
// Blocks

export function renderBlocks(blocks, ctx) {
  return (blocks ?? []).map((block) => renderBlock(block, ctx)).join('');
}

function renderBlock(block, ctx) {
  const id = block.block_id ? ` data-block-id="${escapeHtml(block.block_id)}"` : '';
  switch (block.type) {
    case 'header':
      return `<div class="bk-header"${id}>${textObject(block.text, ctx)}</div>`;
    case 'section': {
      const text = block.text ? `<div class="bk-text">${textObject(block.text, ctx)}</div>` : '';
      const fields = block.fields?.length
        ? `<div class="bk-fields">${block.fields.map((field) => `<div class="bk-field">${textObject(field, ctx)}</div>`).join('')}</div>`
        : '';
      const accessory = block.accessory
        ? `<div class="bk-accessory">${element(block.accessory, block, ctx)}</div>`
        : '';
      return `<div class="bk-section"${id}><div class="bk-section-body">${text}${fields}</div>${accessory}</div>`;
    }
    case 'context':
      return `<div class="bk-context"${id}>${(block.elements ?? [])
        .map((e) => (e.type === 'image' ? image(e) : `<span>${textObject(e, ctx)}</span>`))
        .join('')}</div>`;
    case 'divider':
      return `<hr class="bk-divider"${id}>`;
    case 'image':
      return `<figure class="bk-image-block"${id}>${block.title ? `<figcaption>${plain(block.title)}</figcaption>` : ''}${image(block)}</figure>`;
    case 'actions':
      return `<div class="bk-actions"${id}>${(block.elements ?? []).map((e) => element(e, block, ctx)).join('')}</div>`;
    case 'input':
      return input(block, ctx);
    case 'markdown':
      return `<div class="bk-markdown"${id}>${markdown(block.text, ctx)}</div>`;
    case 'rich_text':
      return `<div class="bk-text"${id}>${escapeHtml(richText(block))}</div>`;
    default:
      return `<div class="bk-unsupported"${id}>[${escapeHtml(block.type)} block]</div>`;
  }
}

function richText(block) {
  const walk = (node) =>
    typeof node.text === 'string' ? node.text : (node.elements ?? []).map(walk).join('');
  return walk(block);
}

// ---------------------------------------------------------------------------------------------------
// Modal inputs: each carries data-input="<block_id>" so the page can read and mark them.

function input(block, ctx) {
  const e = block.element ?? {};
  const blockId = escapeHtml(block.block_id ?? '');
  const name = `in-${blockId}`;
  const required = block.optional !== true;
  let control;
  switch (e.type) {
    case 'plain_text_input':
    case 'email_text_input':
    case 'url_text_input':
    case 'number_input': {
      const limits = `${e.min_length ? ` minlength="${e.min_length}"` : ''}${e.max_length ? ` maxlength="${e.max_length}"` : ''}`;
      const placeholder = e.placeholder ? ` placeholder="${escapeHtml(e.placeholder.text)}"` : '';
      const value = escapeHtml(e.initial_value ?? '');
      const type =
        { email_text_input: 'email', url_text_input: 'url', number_input: 'number' }[e.type] ?? 'text';
      control = e.multiline
        ? `<textarea id="${name}" data-input="${blockId}" data-kind="text" rows="4"${limits}${placeholder}>${value}</textarea>`
        : `<input id="${name}" type="${type}" data-input="${blockId}" data-kind="text"${limits}${placeholder} value="${value}">`;
      break;
    }
    case 'static_select':
    case 'multi_static_select':
      control = `<select id="${name}" data-input="${blockId}" data-kind="${e.type === 'multi_static_select' ? 'many' : 'one'}"${e.type === 'multi_static_select' ? ' multiple' : ''}>${selectOptions(e)}</select>`;
      break;
    case 'users_select':
      control = `<select id="${name}" data-input="${blockId}" data-kind="one">${selectOptions({ ...e, options: ctx.people.map((p) => ({ text: { text: p.realName }, value: p.id })), initial_option: e.initial_user ? { value: e.initial_user } : undefined })}</select>`;
      break;
    case 'checkboxes':
    case 'radio_buttons': {
      const kind = e.type === 'checkboxes' ? 'checkbox' : 'radio';
      const initial = [e.initial_option?.value, ...(e.initial_options ?? []).map((o) => o.value)].filter(
        Boolean,
      );
      control = `<div class="bk-choices" id="${name}" data-input="${blockId}" data-kind="${kind === 'checkbox' ? 'many' : 'one'}">${(
        e.options ?? []
      )
        .map(
          (o) =>
            `<label class="bk-choice"><input type="${kind}" name="${name}" value="${escapeHtml(o.value)}"${initial.includes(o.value) ? ' checked' : ''}> <span>${textObject(o.text, ctx)}</span>${o.description ? `<small>${textObject(o.description, ctx)}</small>` : ''}</label>`,
        )
        .join('')}</div>`;
      break;
    }
    case 'datepicker':
      control = `<input id="${name}" type="date" data-input="${blockId}" data-kind="text" value="${escapeHtml(e.initial_date ?? '')}">`;
      break;
    case 'timepicker':
      control = `<input id="${name}" type="time" data-input="${blockId}" data-kind="text" value="${escapeHtml(e.initial_time ?? '')}">`;
      break;
    default:
      control = `<div class="bk-unsupported">[${escapeHtml(e.type ?? 'unknown')} input]</div>`;
  }
  const hint = block.hint ? `<div class="bk-hint">${textObject(block.hint, ctx)}</div>` : '';
  return `<div class="bk-input" data-block="${blockId}" data-required="${required}" data-min="${e.min_length ?? ''}"><label for="${name}">${plain(block.label)}${required ? '' : ' <span class="optional">(optional)</span>'}</label>${control}${hint}<div class="bk-input-error" role="alert"></div></div>`;
}
