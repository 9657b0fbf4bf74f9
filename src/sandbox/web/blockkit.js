// Block Kit and mrkdwn as HTML, close enough to Slack's rendering to read a deployment thread: header,
// section (text, fields, accessory), context, divider, image, actions (buttons with primary/danger
// styles and confirm dialogs, overflow menus, static selects), and the input blocks of modals. Every
// piece of text is escaped here; nothing the bot sends reaches innerHTML unescaped.

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
