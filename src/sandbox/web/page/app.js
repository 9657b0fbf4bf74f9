// The sandbox page: a Slack-like client for the emulated workspace. It shows what the bot posted (live,
// over server-sent events) and sends what you do to the sandbox server, which turns it into the signed
// request Slack would send to the bot. No state of its own beyond what is on screen.

import { escapeHtml, mrkdwn, renderBlocks } from './blockkit.js';

const state = {
  workspace: undefined,
  user: localStorage.getItem('flightdeck-sandbox-user') ?? undefined,
  channel: undefined,
  /** channel -> ts -> message */
  messages: new Map(),
  ephemerals: [],
  views: new Map(),
  pages: [],
  incidents: {},
  thread: undefined,
  /** element id -> { element, block, message } for the last render of each message */
  elements: new Map(),
  elementSeq: 0,
};

const $ = (selector) => document.querySelector(selector);

// ---------------------------------------------------------------------------------------------------
// Start-up

async function boot() {
  for (;;) {
    const response = await fetch('/api/workspace').catch(() => undefined);
    if (response?.ok) {
      state.workspace = await response.json();
      break;
    }
    $('#status-line').textContent = 'Starting the sandbox…';
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const { workspace } = state;
  if (!workspace.people.some((p) => p.id === state.user)) state.user = workspace.defaultUser;
  const fromHash = decodeURIComponent(location.hash.slice(1));
  state.channel = (workspace.channels.find((c) => c.name === fromHash) ?? workspace.channels[0]).id;
  $('#workspace-name').textContent = workspace.team.name;
  renderPeople();
  renderNotes();
  connect();
}

function connect() {
  const events = new EventSource('/api/events');
  events.addEventListener('snapshot', (event) => {
    const snapshot = JSON.parse(event.data);
    state.messages.clear();
    for (const message of snapshot.messages) putMessage(message);
    state.ephemerals = snapshot.ephemerals;
    state.views = new Map(snapshot.views.map((view) => [view.id, view]));
    state.pages = snapshot.pages;
    state.incidents = snapshot.incidents;
    $('#status-line').textContent = '';
    document.body.dataset.ready = 'true';
    renderAll();
  });
  events.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    putMessage(message);
    onMessageChanged(message);
  });
  events.addEventListener('ephemeral', (event) => {
    const ephemeral = JSON.parse(event.data);
    state.ephemerals.push(ephemeral);
    if (ephemeral.user !== state.user) return;
    if (ephemeral.thread_ts && state.thread?.ts === ephemeral.thread_ts) renderThread();
    if (ephemeral.channel === state.channel && !ephemeral.thread_ts) renderMessages();
    else if (ephemeral.channel !== state.channel) markUnread(ephemeral.channel);
  });
  events.addEventListener('view', (event) => {
    const view = JSON.parse(event.data);
    if (view.state === 'open') state.views.set(view.id, view);
    else state.views.delete(view.id);
    renderModal();
  });
  events.addEventListener('page', (event) => {
    state.pages.push(JSON.parse(event.data));
    renderIncident();
  });
  events.addEventListener('incident', (event) => {
    const { service, state: incident } = JSON.parse(event.data);
    state.incidents[service] = incident;
    renderIncident();
  });
  events.onerror = () => {
    $('#status-line').textContent = 'Reconnecting to the sandbox…';
  };
}

function putMessage(message) {
  let channel = state.messages.get(message.channel);
  if (!channel) {
    channel = new Map();
    state.messages.set(message.channel, channel);
  }
  if (message.deleted) channel.delete(message.ts);
  else channel.set(message.ts, message);
}

function onMessageChanged(message) {
  if (message.channel !== state.channel) {
    if (!message.edited) markUnread(message.channel);
    return;
  }
  if (message.thread_ts) {
    const parent = state.messages.get(message.channel)?.get(message.thread_ts);
    if (parent) replaceMessageNode(parent);
    if (state.thread?.ts === message.thread_ts) renderThread();
    return;
  }
  if (!replaceMessageNode(message)) renderMessages();
  if (state.thread?.ts === message.ts) renderThread();
}

// ---------------------------------------------------------------------------------------------------
// Rendering

function renderAll() {
  renderChannels();
  renderHeader();
  renderMessages();
  renderThread();
  renderModal();
  renderIncident();
}

function person(id) {
  return state.workspace.people.find((p) => p.id === id);
}

function renderCtx(message, interactive) {
  return {
    interactive,
    people: state.workspace.people,
    userName: (id) =>
      id === state.workspace.bot.id ? state.workspace.bot.name : (person(id)?.realName ?? id),
    channelName: (id) => state.workspace.channels.find((c) => c.id === id)?.name ?? id.toLowerCase(),
    link: (url, label) => {
      const local = permalinkTarget(url);
      const text = escapeHtml(label ?? url);
      if (local)
        return `<a href="#" class="permalink" data-channel="${escapeHtml(local.channel)}" data-ts="${escapeHtml(local.ts)}">${text}</a>`;
      return `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${text}</a>`;
    },
    register: (element, block) => {
      const id = `e${++state.elementSeq}`;
      state.elements.set(id, { element, block, message });
      return id;
    },
  };
}

/** The emulator's permalinks (https://<team>.slack.com/archives/C…/p…?thread_ts=…) open here, not in Slack. */
function permalinkTarget(url) {
  const match = /\/archives\/([A-Z0-9]+)\/p(\d{10})(\d{6})(?:\?thread_ts=([\d.]+))?/.exec(url);
  if (!match || !url.includes(`${state.workspace.team.domain}.slack.com`)) return undefined;
  return { channel: match[1], ts: match[4] ?? `${match[2]}.${match[3]}` };
}

function renderPeople() {
  const select = $('#user-switcher');
  const option = (p) =>
    `<option value="${escapeHtml(p.id)}">${escapeHtml(p.realName)}${p.roles.length ? ` — ${escapeHtml(p.roles.join(', '))}` : ' — no roles'}</option>`;
  const demo = state.workspace.people.filter((p) => p.demo);
  const others = state.workspace.people.filter((p) => !p.demo);
  select.innerHTML = `<optgroup label="Demo people">${demo.map(option).join('')}</optgroup><optgroup label="Everyone else in flightdeck.yaml">${others.map(option).join('')}</optgroup>`;
  select.value = state.user;
  renderMe();
}

function renderMe() {
  const me = person(state.user);
  $('#me').innerHTML =
    `<span class="avatar small">${escapeHtml(initials(me.realName))}</span><span><b>${escapeHtml(me.realName)}</b><br><small>${me.roles.length ? escapeHtml(me.roles.join(', ')) : 'no roles'}${me.about ? ` · ${escapeHtml(me.about)}` : ''}</small></span>`;
}

function renderNotes() {
  $('#notes').innerHTML = state.workspace.notes.map((note) => `<p>${escapeHtml(note)}</p>`).join('');
}

function renderChannels() {
  $('#channel-list').innerHTML = state.workspace.channels
    .map(
      (c) =>
        `<li><a href="#${escapeHtml(c.name)}" class="channel-item${c.id === state.channel ? ' active' : ''}" data-channel="${escapeHtml(c.id)}"># ${escapeHtml(c.name)}</a></li>`,
    )
    .join('');
}

function markUnread(channelId) {
  document.querySelector(`.channel-item[data-channel="${CSS.escape(channelId)}"]`)?.classList.add('unread');
}

function currentChannel() {
  return state.workspace.channels.find((c) => c.id === state.channel);
}

function renderHeader() {
  const channel = currentChannel();
  $('#channel-title').textContent = `# ${channel.name}`;
  const strategy = channel.strategy ? ` · ${channel.strategy}` : '';
  $('#channel-about').textContent =
    `service ${channel.service}${strategy} · checklist ${channel.checklists.join(', ')}`;
  $('#composer-input').placeholder = `Message #${channel.name} — try /deploy start ${channel.service} 1.2.3`;
}

function topLevel(channelId) {
  return [...(state.messages.get(channelId)?.values() ?? [])].filter((m) => !m.thread_ts);
}

function replies(channelId, ts) {
  return [...(state.messages.get(channelId)?.values() ?? [])].filter((m) => m.thread_ts === ts);
}

function myEphemerals(channelId, threadTs) {
  return state.ephemerals.filter(
    (e) => e.user === state.user && e.channel === channelId && (e.thread_ts ?? undefined) === threadTs,
  );
}

function messageHtml(message, options = {}) {
  const author = message.bot ? state.workspace.bot.name : (person(message.user)?.realName ?? message.user);
  const time = new Date(Number(message.ts) * 1000);
  const stamp = `${String(time.getHours()).padStart(2, '0')}:${String(time.getMinutes()).padStart(2, '0')}`;
  const ctx = renderCtx(message, !options.ephemeral);
  const body = message.blocks?.length
    ? renderBlocks(message.blocks, ctx)
    : `<div class="bk-text">${mrkdwn(message.text, ctx)}</div>`;
  const count = options.inThread || message.thread_ts ? 0 : replies(message.channel, message.ts).length;
  const threadLink = count
    ? `<button type="button" class="thread-link" data-thread="${escapeHtml(message.ts)}">${count} ${count === 1 ? 'reply' : 'replies'}</button>`
    : '';
  const classes = ['message', options.ephemeral ? 'ephemeral' : '', message.bot ? 'from-bot' : '']
    .filter(Boolean)
    .join(' ');
  const key = options.ephemeral ? `eph:${message.ts}` : `${message.channel}:${message.ts}`;
  return `<div class="${classes}" data-key="${escapeHtml(key)}" data-ts="${escapeHtml(message.ts)}" data-channel="${escapeHtml(message.channel)}">
    <div class="avatar${message.bot ? ' bot' : ''}">${message.bot ? '✈' : escapeHtml(initials(author))}</div>
    <div class="message-body">
      <div class="meta"><span class="author">${escapeHtml(author)}</span>${message.bot ? '<span class="app-badge">APP</span>' : ''}<span class="time">${stamp}</span>${message.edited ? '<span class="edited">(edited)</span>' : ''}${options.ephemeral ? '<span class="only-you">Only visible to you</span>' : ''}</div>
      <div class="blocks">${body}</div>
      ${threadLink}
    </div>
  </div>`;
}

function initials(name) {
  return name
    .split(/\s+/)
    .map((part) => part[0] ?? '')
    .join('')
    .slice(0, 2)
    .toUpperCase();
}

/** Messages and my ephemerals, in time order. */
function timeline(channelId, threadTs) {
  const items = threadTs
    ? replies(channelId, threadTs).map((m) => ({ ts: m.ts, html: () => messageHtml(m, { inThread: true }) }))
    : topLevel(channelId).map((m) => ({ ts: m.ts, html: () => messageHtml(m) }));
  for (const e of myEphemerals(channelId, threadTs))
    items.push({
      ts: e.ts,
      html: () => messageHtml({ ...e, bot: true }, { ephemeral: true, inThread: Boolean(threadTs) }),
    });
  return items.sort((a, b) => Number(a.ts) - Number(b.ts));
}

function stickToBottom(container, render) {
  const atBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 40;
  const top = container.scrollTop;
  render();
  container.scrollTop = atBottom ? container.scrollHeight : top;
  forgetHiddenElements();
}

/** Elements of renders no longer on screen are dropped now and then, so a long session stays small. */
function forgetHiddenElements() {
  if (state.elements.size < 2000) return;
  const shown = new Set([...document.querySelectorAll('[data-element]')].map((node) => node.dataset.element));
  for (const id of state.elements.keys()) if (!shown.has(id)) state.elements.delete(id);
}

function renderMessages() {
  const container = $('#messages');
  stickToBottom(container, () => {
    const items = timeline(state.channel);
    container.innerHTML = items.length
      ? items.map((item) => item.html()).join('')
      : `<div class="empty">Nothing here yet. Type <code>/deploy start ${escapeHtml(currentChannel().service)} 1.2.3</code> below.</div>`;
  });
}

/** Re-renders one message in place; false when it is not on screen (a new message). */
function replaceMessageNode(message) {
  const node = document.querySelector(
    `#messages [data-key="${CSS.escape(`${message.channel}:${message.ts}`)}"]`,
  );
  if (!node) return false;
  const container = $('#messages');
  stickToBottom(container, () => {
    node.outerHTML = messageHtml(message);
  });
  return true;
}

function renderThread() {
  const panel = $('#thread');
  const thread = state.thread;
  const parent = thread && state.messages.get(thread.channel)?.get(thread.ts);
  if (!parent) {
    panel.hidden = true;
    document.body.classList.remove('thread-open');
    return;
  }
  panel.hidden = false;
  document.body.classList.add('thread-open');
  const channelName = state.workspace.channels.find((c) => c.id === thread.channel)?.name ?? '';
  $('#thread-title').textContent = `Thread in #${channelName}`;
  const container = $('#thread-messages');
  stickToBottom(container, () => {
    const items = timeline(thread.channel, thread.ts);
    const count = replies(thread.channel, thread.ts).length;
    container.innerHTML = `${messageHtml(parent, { inThread: true })}<div class="replies-divider">${count} ${count === 1 ? 'reply' : 'replies'}</div>${items.map((i) => i.html()).join('')}`;
  });
}

function openThread(channel, ts) {
  if (channel !== state.channel) switchChannel(channel);
  state.thread = { channel, ts };
  renderThread();
}

/** The sidebar as a drawer (phones only: on wider screens the class changes nothing). */
function setSidebarOpen(open) {
  document.body.classList.toggle('sidebar-open', open);
  $('#menu-button').setAttribute('aria-expanded', String(open));
}

function switchChannel(channelId) {
  setSidebarOpen(false);
  state.channel = channelId;
  state.thread = undefined;
  const channel = currentChannel();
  history.replaceState(null, '', `#${channel.name}`);
  renderChannels();
  renderHeader();
  renderMessages();
  renderThread();
  renderIncident();
}

// ---------------------------------------------------------------------------------------------------
// Incident controls and pages

function renderIncident() {
  const channel = currentChannel();
  const incident = state.incidents[channel.service];
  const box = $('#incident');
  if (!incident) {
    box.innerHTML = '';
    return;
  }
  const percent = (incident.errorRatio * 100).toFixed(incident.errorRatio < 0.01 ? 2 : 0);
  $('#incident-state').innerHTML =
    `<div>error rate <b>${percent}%</b></div><div>p95 just under <b>${Math.round(incident.latency * 1000)} ms</b></div><div>health endpoint <b>${incident.healthStatus}</b></div>`;
  $('#incident-service').textContent = channel.service;
  $('#pages').innerHTML = state.pages
    .slice(-5)
    .reverse()
    .map((page) => {
      const body = page.body ?? {};
      return `<li><b>${escapeHtml(body.event ?? 'page')}</b> ${escapeHtml(body.summary ?? '')}<br><small>${escapeHtml(body.source ?? '')} · ${new Date(page.at).toLocaleTimeString()}</small></li>`;
    })
    .join('');
  $('#pages-title').hidden = state.pages.length === 0;
}

async function playIncident(action) {
  await post('/api/incident', { service: currentChannel().service, action });
}

// ---------------------------------------------------------------------------------------------------
// Modals

function myOpenView() {
  return [...state.views.values()].filter((view) => view.user === state.user && view.state === 'open').at(-1);
}

function renderModal() {
  const root = $('#modal-root');
  const open = myOpenView();
  if (!open) {
    root.innerHTML = '';
    root.dataset.view = '';
    return;
  }
  // The same view at the same hash is already on screen: keep what the person typed.
  if (root.dataset.view === `${open.id}:${open.hash}`) return;
  root.dataset.view = `${open.id}:${open.hash}`;
  const view = open.view;
  const ctx = renderCtx(undefined, false);
  root.innerHTML = `<div class="overlay"><form class="modal" role="dialog" aria-modal="true" aria-labelledby="modal-title" data-view="${escapeHtml(open.id)}" novalidate>
    <header><h2 id="modal-title">${escapeHtml(view.title?.text ?? '')}</h2><button type="button" class="close" aria-label="Close" data-close>×</button></header>
    <div class="modal-body">${renderBlocks(view.blocks, ctx)}<div class="modal-error" role="alert"></div></div>
    <footer><button type="button" class="secondary" data-close>${escapeHtml(view.close?.text ?? 'Cancel')}</button>${view.submit ? `<button type="submit" class="primary">${escapeHtml(view.submit.text)}</button>` : ''}</footer>
  </form></div>`;
  root.querySelector('textarea, input, select')?.focus();
}

function readInputs(form) {
  const values = {};
  let blocked = false;
  for (const wrapper of form.querySelectorAll('.bk-input')) {
    const blockId = wrapper.dataset.block;
    const control = wrapper.querySelector('[data-input]');
    const error = wrapper.querySelector('.bk-input-error');
    error.textContent = '';
    wrapper.classList.remove('invalid');
    if (!control) continue;
    let value;
    if (control.dataset.kind === 'text') value = control.value;
    else if (control.tagName === 'SELECT')
      value = control.multiple ? [...control.selectedOptions].map((o) => o.value) : control.value;
    else {
      const checked = [...control.querySelectorAll('input:checked')].map((i) => i.value);
      value = control.dataset.kind === 'many' ? checked : (checked[0] ?? '');
    }
    const empty = Array.isArray(value) ? value.length === 0 : value === '';
    // What Slack's client checks before it sends anything: required inputs and min_length.
    const min = Number(wrapper.dataset.min || 0);
    if (empty && wrapper.dataset.required === 'true') {
      error.textContent = 'Please complete this required field.';
      wrapper.classList.add('invalid');
      blocked = true;
    } else if (!empty && min > 0 && typeof value === 'string' && value.length < min) {
      error.textContent = `Please enter at least ${min} characters.`;
      wrapper.classList.add('invalid');
      blocked = true;
    }
    if (!empty) values[blockId] = value;
  }
  return blocked ? undefined : values;
}

async function submitModal(form) {
  const values = readInputs(form);
  if (!values) return;
  const submit = form.querySelector('button[type=submit]');
  submit.disabled = true;
  const result = await post('/api/view/submit', { user: state.user, viewId: form.dataset.view, values });
  submit.disabled = false;
  if (result.errors) {
    for (const [blockId, message] of Object.entries(result.errors)) {
      const wrapper = form.querySelector(`.bk-input[data-block="${CSS.escape(blockId)}"]`);
      if (!wrapper) continue;
      wrapper.classList.add('invalid');
      wrapper.querySelector('.bk-input-error').textContent = message;
    }
  } else if (!result.ok)
    form.querySelector('.modal-error').textContent = result.error ?? 'Something went wrong.';
}

async function closeModal(form) {
  await post('/api/view/close', { user: state.user, viewId: form.dataset.view });
}

// ---------------------------------------------------------------------------------------------------
// Confirm dialogs (buttons with `confirm`) and clicks

function confirmDialog(confirm, ctx) {
  return new Promise((resolve) => {
    const root = $('#confirm-root');
    root.innerHTML = `<div class="overlay"><div class="modal confirm" role="alertdialog" aria-modal="true" aria-labelledby="confirm-title">
      <header><h2 id="confirm-title">${escapeHtml(confirm.title?.text ?? 'Are you sure?')}</h2></header>
      <div class="modal-body">${confirm.text?.type === 'mrkdwn' ? mrkdwn(confirm.text.text, ctx) : escapeHtml(confirm.text?.text ?? '')}</div>
      <footer><button type="button" class="secondary" data-answer="no">${escapeHtml(confirm.deny?.text ?? 'Cancel')}</button><button type="button" class="${confirm.style === 'danger' ? 'danger' : 'primary'}" data-answer="yes">${escapeHtml(confirm.confirm?.text ?? 'Yes')}</button></footer>
    </div></div>`;
    root.querySelector('[data-answer=yes]').focus();
    root.onclick = (event) => {
      const answer = event.target.closest('[data-answer]')?.dataset.answer;
      if (!answer) return;
      root.innerHTML = '';
      root.onclick = null;
      resolve(answer === 'yes');
    };
  });
}

async function act(found, extra) {
  const { element, block, message } = found;
  if (element.confirm && !(await confirmDialog(element.confirm, renderCtx(message, false)))) return;
  if (element.url) window.open(element.url, '_blank', 'noopener');
  const result = await post('/api/action', {
    user: state.user,
    channel: message.channel,
    ts: message.ts,
    type: element.type,
    actionId: element.action_id,
    ...(block.block_id ? { blockId: block.block_id } : {}),
    ...(element.value !== undefined ? { value: element.value } : {}),
    ...extra,
  });
  if (!result.ok) toast(result.error ?? 'That did not work.');
}

async function post(path, body) {
  try {
    const response = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return await response.json();
  } catch (error) {
    return { ok: false, error: `The sandbox did not answer (${error.message}).` };
  }
}

function toast(text) {
  const box = $('#toast');
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    box.hidden = true;
  }, 6000);
}

async function send(input, threadTs) {
  const text = input.value.trim();
  if (!text) return;
  input.value = '';
  const result = await post('/api/command', {
    user: state.user,
    channel: state.channel,
    text,
    ...(threadTs ? { threadTs } : {}),
  });
  if (!result.ok) {
    $('#composer-error').textContent = result.error ?? 'Slack did not take that.';
    input.value = text;
  } else $('#composer-error').textContent = '';
}

document.addEventListener('click', (event) => {
  const target = event.target;
  if (target.closest('#menu-button')) {
    setSidebarOpen(!document.body.classList.contains('sidebar-open'));
    return;
  }
  if (target.closest('[data-close-sidebar]')) {
    setSidebarOpen(false);
    return;
  }
  const channelLink = target.closest('[data-channel].channel-item, a.channel-link');
  if (channelLink) {
    event.preventDefault();
    switchChannel(channelLink.dataset.channel);
    return;
  }
  const permalink = target.closest('a.permalink');
  if (permalink) {
    event.preventDefault();
    openThread(permalink.dataset.channel, permalink.dataset.ts);
    return;
  }
  const threadButton = target.closest('[data-thread]');
  if (threadButton) {
    const channel = threadButton.closest('[data-channel]').dataset.channel;
    openThread(channel, threadButton.dataset.thread);
    return;
  }
  if (target.closest('#thread-close')) {
    state.thread = undefined;
    renderThread();
    return;
  }
  const toggle = target.closest('.bk-overflow-toggle');
  for (const menu of document.querySelectorAll('.bk-menu'))
    if (!toggle || menu !== toggle.nextElementSibling) menu.hidden = true;
  if (toggle) {
    toggle.nextElementSibling.hidden = !toggle.nextElementSibling.hidden;
    return;
  }
  const menuItem = target.closest('.bk-menu-item');
  if (menuItem) {
    const found = state.elements.get(menuItem.dataset.element);
    if (found) void act(found, { option: menuItem.dataset.option });
    return;
  }
  const button = target.closest('button.bk-button');
  if (button && !button.disabled) {
    const found = state.elements.get(button.dataset.element);
    if (found) void act(found);
    return;
  }
  const close = target.closest('[data-close]');
  if (close) {
    void closeModal(close.closest('form.modal'));
    return;
  }
  const incident = target.closest('[data-incident]');
  if (incident) void playIncident(incident.dataset.incident);
});

document.addEventListener('change', (event) => {
  const select = event.target.closest('select.bk-select');
  if (select) {
    const found = state.elements.get(select.dataset.element);
    if (found) void act(found, { option: select.value });
  }
});

document.addEventListener('submit', (event) => {
  const form = event.target;
  event.preventDefault();
  if (form.matches('form.modal')) void submitModal(form);
  else if (form.id === 'composer') void send($('#composer-input'));
  else if (form.id === 'thread-composer') void send($('#thread-input'), state.thread?.ts);
});

for (const id of ['#composer-input', '#thread-input'])
  $(id).addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });

$('#user-switcher').addEventListener('change', (event) => {
  state.user = event.target.value;
  localStorage.setItem('flightdeck-sandbox-user', state.user);
  renderMe();
  renderMessages();
  renderThread();
  $('#modal-root').dataset.view = '';
  renderModal();
});

document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape') return;
  if (document.body.classList.contains('sidebar-open')) {
    setSidebarOpen(false);
    return;
  }
  const form = document.querySelector('#modal-root form.modal');
  if (form && !document.querySelector('#confirm-root .overlay')) void closeModal(form);
});

void boot();
