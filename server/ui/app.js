// The Sigil web console (SPEC §6): one ES module, no dependencies, no build.
//
// A client of the REST API like the CLI: the token the user pastes is kept in
// this tab's sessionStorage and sent as `Authorization: Bearer …` on every
// request; signing out forgets it. `GET /v1/whoami` signs in and tells the
// caller's org and effective claims, from which the console offers only what
// the caller may do (the server decides anyway).
//
// Safety: every DOM node is built with createElement and textContent — no
// markup is ever parsed from a string, so a stored label such as
// `<img src=x onerror=alert(1)>` shows as text. The page's Content-Security-
// Policy enforces Trusted Types, so a slip would fail loudly instead.
//
// Routing is by fragment: `#/bots`, `#/tokens?owner=ci&status=revoked`, …
// (filters only: a token never goes into a URL).

const TOKEN_KEY = 'sigil.console.token';
const WEBHOOK_EVENTS = [
  'token.issued', 'token.revoked', 'token.expiring', 'token.expired',
  'token.leaked', 'bot.created', 'bot.deleted', 'key.rotated',
];

// Uncaught errors are counted on <html data-console-errors>, which the
// end-to-end test reads: a console that breaks shows it there.
let errorCount = 0;
function countError() {
  errorCount += 1;
  document.documentElement.dataset.consoleErrors = String(errorCount);
}
window.addEventListener('error', countError);
window.addEventListener('unhandledrejection', countError);
document.documentElement.dataset.consoleErrors = '0';

// ---------- DOM ----------

/** An element: `props` are attributes, `text`, `class`, `dataset`, `value`,
 * or `on<event>` listeners; children are nodes or strings (as text). */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = String(v);
    else if (k === 'checked') el.checked = Boolean(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  add(el, children);
  return el;
}

function add(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function button(label, onclick, props = {}) {
  return h('button', { type: 'button', class: 'btn', ...props, onclick }, label);
}

let uid = 0;
const nextId = (p) => `${p}-${++uid}`;

const $ = (id) => document.getElementById(id);

// ---------- the API ----------

class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
}

/** The route is not on this server (yet): a 404 or 405 of the router. */
const missingRoute = (e) => e instanceof ApiError && (e.status === 404 || e.status === 405);

async function api(method, path, { body, query, headers, token } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const bearer = token || session.token();
  const h = { Accept: 'application/json', ...(headers || {}) };
  if (bearer) h.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch (_) {
    throw new ApiError(0, 'network', 'Cannot reach the Sigil server. Check your connection and try again.');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (_) { data = null; }
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    const err = new ApiError(res.status, e.code || `http_${res.status}`,
      e.message || `The server answered ${res.status}.`, e.field);
    // Our own token stopped working (revoked, expired, owner deleted).
    if (res.status === 401 && !token && session.token()) signOut('Your token is no longer accepted (revoked or expired): sign in again.');
    throw err;
  }
  return data;
}

const orgPath = (rest) => `/v1/orgs/${encodeURIComponent(me.org)}${rest}`;
const seg = encodeURIComponent;

/** A random Idempotency-Key, so a double submit never mints twice. */
function idempotencyKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return `console-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

// ---------- session and rights ----------

const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** Whoami of the signed-in caller. */
let me = null;

function claimParts(c) {
  const p = String(c).split(':');
  if (p.length !== 3) return null;
  return p.map((x) => (x === '*' ? null : x.split(',')));
}

/** Whether the caller's effective claims allow `action` on `scope`.
 * `specific`: undefined — on some object of the kind; '*' — on all of them
 * (lists, creation without a name); an array — on the object with one of
 * these ids or names. An app-scoped token reaches only its app's tokens. */
function can(scope, action, specific) {
  if (!me) return false;
  if (me.app && scope !== 'tokens' && scope !== 'apps') return false;
  const wanted = specific === undefined ? null : [].concat(specific).filter(Boolean).map(String);
  return me.claims.some((c) => {
    const p = claimParts(c);
    if (!p) return false;
    const [s, a, x] = p;
    if (s && !s.includes(scope)) return false;
    if (a && !a.includes(action)) return false;
    if (wanted === null || x === null) return true;
    return wanted.some((w) => w !== '*' && x.includes(w));
  });
}

function signOut(message) {
  session.clear();
  for (const d of document.querySelectorAll('dialog')) d.close();
  me = null;
  renderSignIn(message);
}

// ---------- formatting ----------

function fmtTime(s, seconds) {
  if (!s) return '—';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return String(s);
  return `${d.toISOString().slice(0, seconds ? 19 : 16).replace('T', ' ')} UTC`;
}

function relative(s) {
  const d = new Date(s);
  if (!s || Number.isNaN(d.getTime())) return '';
  const secs = Math.round((d.getTime() - Date.now()) / 1000);
  const abs = Math.abs(secs);
  const [n, unit] = abs >= 86400 ? [Math.round(abs / 86400), 'd']
    : abs >= 3600 ? [Math.round(abs / 3600), 'h']
      : abs >= 60 ? [Math.round(abs / 60), 'min'] : [abs, 's'];
  return secs >= 0 ? `in ${n} ${unit}` : `${n} ${unit} ago`;
}

function when(s, withRelative, seconds) {
  if (!s) return h('span', { class: 'muted', text: '—' });
  const rel = withRelative ? relative(s) : '';
  return h('time', { datetime: s, title: String(s) }, fmtTime(s, seconds), rel ? h('span', { class: 'muted', text: ` (${rel})` }) : null);
}

function codeList(items, empty = 'none') {
  if (!items || items.length === 0) return h('span', { class: 'muted', text: empty });
  return h('ul', { class: 'plain' }, items.map((c) => h('li', null, h('code', { text: c }))));
}

function statusBadge(status, reason) {
  return h('span', { class: `badge badge-${String(status || 'unknown').replace(/[^a-z]/g, '')}` },
    String(status || 'unknown'), reason ? h('span', { class: 'badge-reason', text: `: ${reason}` }) : null);
}

// ---------- notices ----------

let toastTimer = null;
function notify(message) {
  const el = $('status');
  el.textContent = message;
  el.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(hideNotice, 6000);
}

function hideNotice() {
  clearTimeout(toastTimer);
  const el = $('status');
  el.classList.remove('show');
  el.textContent = '';
}

function messageBox(kind, text) {
  return h('p', { class: `box box-${kind}`, role: kind === 'error' ? 'alert' : null, text });
}

function unavailable(what) {
  return h('p', { class: 'box box-info', dataset: { unavailable: 'true' }, text: `${what} not available on this server.` });
}

// ---------- forms ----------

/** A labelled control with its hint and its error line. Options:
 * type (text, password, number, textarea, select, url), value, hint, required,
 * placeholder, options ([value, label] for select), rows, list, autofocus. */
function field(form, name, label, o = {}) {
  const id = nextId(`f-${name}`);
  const hintId = o.hint ? `${id}-hint` : null;
  const errId = `${id}-err`;
  const common = {
    id, name, required: o.required, placeholder: o.placeholder, autofocus: o.autofocus,
    'aria-describedby': [hintId, errId].filter(Boolean).join(' '),
    dataset: { field: name }, autocomplete: o.autocomplete || 'off', spellcheck: 'false',
    readonly: o.readonly,
  };
  let control;
  if (o.type === 'textarea') {
    control = h('textarea', { ...common, rows: o.rows || 3 });
    if (o.value !== undefined) control.value = o.value;
  } else if (o.type === 'select') {
    control = h('select', common, (o.options || []).map(([v, l]) => h('option', { value: v, text: l })));
    if (o.value !== undefined) control.value = o.value;
  } else {
    control = h('input', { ...common, type: o.type || 'text', value: o.value, list: o.list, min: o.min, max: o.max, inputmode: o.inputmode });
  }
  const wrap = h('div', { class: `field field-${name}` },
    h('label', { for: id, text: label }, o.required ? h('span', { class: 'req', 'aria-hidden': 'true', text: ' *' }) : null),
    o.hint ? h('p', { class: 'hint', id: hintId, text: o.hint }) : null,
    control,
    h('p', { class: 'field-error', id: errId, dataset: { errorFor: name } }));
  if (form) form.append(wrap);
  return control;
}

function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error, .form-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/** Shows an error next to the field the server named (`permissions[2]` →
 * the permissions box), or at the top of the form. */
function showError(form, e, aliases = {}) {
  clearErrors(form);
  const message = e instanceof ApiError ? e.message : String(e && e.message ? e.message : e);
  let name = e instanceof ApiError && e.field ? String(e.field).split(/[.[]/)[0] : null;
  if (name && aliases[name]) name = aliases[name];
  const control = name ? form.querySelector(`[data-field="${CSS.escape(name)}"]`) : null;
  if (control) {
    const err = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    err.textContent = message;
    control.setAttribute('aria-invalid', 'true');
    control.focus();
  } else {
    let top = form.querySelector('.form-error');
    if (!top) {
      top = h('p', { class: 'form-error', role: 'alert', tabindex: '-1' });
      form.prepend(top);
    }
    top.textContent = message;
    // In a long dialog the top of the form may be scrolled away.
    top.focus();
  }
}

/** One value per non-empty line (claims, networks). */
const lines = (v) => String(v || '').split('\n').map((s) => s.trim()).filter(Boolean);

/** An expiry as the API takes it: a duration (`90d`) or a time (RFC 3339). */
function expiryFields(v) {
  const s = String(v || '').trim();
  if (!s) return {};
  return /^([0-9]+(mo|[smhdwy]))+$/.test(s) ? { expiry: s } : { expires_at: s };
}

/** Runs `action` while the form's submit button is busy; shows its error. */
async function submitting(form, action, aliases) {
  const submit = form.querySelector('button[type=submit]');
  if (submit) submit.disabled = true;
  form.setAttribute('aria-busy', 'true');
  clearErrors(form);
  try {
    return await action();
  } catch (e) {
    showError(form, e, aliases);
    return undefined;
  } finally {
    if (submit) submit.disabled = false;
    form.removeAttribute('aria-busy');
  }
}

// ---------- dialogs ----------

/** A modal dialog (focus is trapped and Esc closes it; focus goes back to
 * where it was). Returns the dialog and its body. */
function dialog(title, { wide, id } = {}) {
  const titleId = nextId('dlg-title');
  const opener = document.activeElement;
  const body = h('div', { class: 'dialog-body' });
  const dlg = h('dialog', { class: wide ? 'dialog wide' : 'dialog', 'aria-labelledby': titleId, id },
    h('h2', { id: titleId, text: title }), body);
  dlg.addEventListener('close', () => {
    // Secrets shown in the dialog leave the DOM with it.
    for (const el of dlg.querySelectorAll('[data-secret]')) el.value = '';
    dlg.remove();
    // Back to the opener; when it is gone (its row deleted), to the page.
    if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
    else if ($('page-title')) $('page-title').focus();
  });
  document.body.append(dlg);
  dlg.showModal();
  return { dlg, body, close: () => dlg.close() };
}

function dialogActions(...buttons) {
  return h('div', { class: 'dialog-actions' }, buttons);
}

/** A form in a dialog: `build(form)` adds fields; `onSubmit(form)` runs on
 * submit and closes the dialog when it returns anything but undefined. */
function formDialog(title, { submitLabel, build, onSubmit, aliases, danger, id, intro }) {
  const d = dialog(title, { id });
  const form = h('form', { novalidate: true });
  if (intro) form.append(h('p', { class: 'intro', text: intro }));
  build(form);
  form.append(dialogActions(
    button('Cancel', () => d.close(), { class: 'btn' }),
    h('button', { type: 'submit', class: danger ? 'btn danger' : 'btn primary', text: submitLabel })));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const out = await submitting(form, () => onSubmit(form, d), aliases);
    if (out !== undefined && d.dlg.open && out !== 'keep') d.close();
  });
  d.body.append(form);
  const first = form.querySelector('[autofocus], input, textarea, select');
  if (first) first.focus();
  return d;
}

/** Shows a secret once (a JWT, a webhook secret) with a copy button. */
function showSecret(d, { title, warning, label, secret, details }) {
  d.dlg.querySelector('h2').textContent = title;
  const id = nextId('secret');
  const area = h('textarea', { id, class: 'secret', readonly: true, rows: 7, spellcheck: 'false', dataset: { secret: 'true' } });
  area.value = secret;
  const note = h('p', { class: 'copy-note', 'aria-live': 'polite' });
  const copyBtn = button('Copy', () => copySecret(area, copyBtn, note), { class: 'btn primary', id: 'copy-secret' });
  d.body.replaceChildren(
    h('p', { class: 'box box-warning', role: 'alert', text: warning }),
    h('label', { for: id, text: label }),
    area,
    h('div', { class: 'copy-row' }, copyBtn, note),
    details || null,
    dialogActions(button('Done', () => d.close(), { class: 'btn', id: 'secret-done' })));
  copyBtn.focus();
}

async function copySecret(area, btn, note) {
  area.focus();
  area.select();
  let ok = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(area.value);
      ok = true;
    }
  } catch (_) {
    ok = false;
  }
  if (!ok) {
    try { ok = document.execCommand('copy'); } catch (_) { ok = false; }
  }
  btn.dataset.state = ok ? 'copied' : 'manual';
  btn.textContent = ok ? 'Copied' : 'Copy';
  note.textContent = ok ? 'Copied to the clipboard.'
    : 'The browser did not allow copying: the text is selected, press Ctrl+C (⌘C on a Mac).';
}

/** Asks before something that cannot be undone; resolves true to go on. */
function confirmDialog(title, message, confirmLabel, { extra, onConfirm, id } = {}) {
  return formDialog(title, {
    id,
    submitLabel: confirmLabel,
    danger: true,
    intro: message,
    build: (form) => { if (extra) extra(form); },
    onSubmit: onConfirm,
  });
}

// ---------- layout, navigation ----------

const PAGES = [
  { path: 'bots', title: 'Bots', visible: () => can('bots', 'list', '*'), render: renderBots },
  { path: 'tokens', title: 'Tokens', visible: () => can('tokens', 'list'), render: renderTokens },
  { path: 'apps', title: 'Apps', visible: () => can('apps', 'list', '*') || can('apps', 'get'), render: renderApps },
  { path: 'webhooks', title: 'Webhooks', visible: () => can('webhooks', 'list', '*'), render: renderWebhooks },
  { path: 'audit', title: 'Audit log', visible: () => can('audit', 'list', '*'), render: renderAudit },
  { path: 'keys', title: 'Signing keys', visible: () => true, render: renderKeys },
];

function currentRoute() {
  const raw = window.location.hash.replace(/^#/, '');
  if (!raw.startsWith('/')) return null;
  const [path, query] = raw.slice(1).split('?');
  return { path, params: new URLSearchParams(query || '') };
}

function go(path, params) {
  const q = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString() : '';
  const target = `#/${path}${q ? `?${q}` : ''}`;
  if (window.location.hash === target) render(false);
  else window.location.hash = target;
}

function renderChrome() {
  const who = $('who');
  const nav = $('nav');
  if (!me) {
    who.replaceChildren();
    nav.replaceChildren();
    nav.hidden = true;
    return;
  }
  who.replaceChildren(
    h('span', { class: 'who-name' }, h('span', { class: 'sr-only', text: 'Signed in as ' }), me.name),
    h('span', { class: 'who-meta' }, `${me.kind} · org `, h('strong', { text: me.org }), me.app ? ` · app ${me.app}` : ''),
    button('Sign out', () => { signOut('Signed out: the token is forgotten.'); }, { id: 'sign-out', class: 'btn small' }));
  const route = currentRoute();
  nav.hidden = false;
  nav.replaceChildren(h('ul', null, PAGES.filter((p) => p.visible()).map((p) => h('li', null,
    h('a', { href: `#/${p.path}`, 'aria-current': route && route.path === p.path ? 'page' : null, text: p.title })))));
}

let renderSeq = 0;

/** Renders the page of the current route. `navigated`: focus its heading. */
async function render(navigated = true) {
  if (!me) return;
  let route = currentRoute();
  const visible = PAGES.filter((p) => p.visible());
  let page = route && PAGES.find((p) => p.path === route.path);
  if (!page) {
    page = visible[0] || PAGES[PAGES.length - 1];
    window.history.replaceState(null, '', `#/${page.path}`);
    route = currentRoute();
  }
  renderChrome();
  const seq = ++renderSeq;
  const main = $('main');
  const head = h('h1', { id: 'page-title', tabindex: '-1', text: page.title });
  const actions = h('div', { class: 'page-actions' });
  const body = h('div', { class: 'page-body' });
  main.replaceChildren(h('div', { class: 'page-head' }, head, actions), body);
  document.title = `${page.title} · Sigil console`;
  if (navigated) {
    head.focus();
    hideNotice();
  }
  const ctx = {
    params: route.params,
    actions,
    body,
    current: () => seq === renderSeq,
    reload: () => render(false),
  };
  if (!page.visible()) {
    body.append(messageBox('info', 'Your token does not allow this page.'));
    return;
  }
  try {
    await page.render(ctx);
  } catch (e) {
    if (ctx.current()) body.append(messageBox('error', e.message || String(e)));
  }
}

/** A paginated table: `load(cursor)` answers a page; columns are
 * [header, item → node or text]. */
function pagedTable(container, { caption, columns, load, rowProps, empty, onMissing }) {
  const table = h('table', { class: 'grid' },
    h('caption', { class: 'sr-only', text: caption }),
    h('thead', null, h('tr', null, columns.map(([label]) => h('th', { scope: 'col', text: label })))));
  const tbody = h('tbody');
  table.append(tbody);
  const more = h('div', { class: 'more' });
  const status = h('div', { class: 'table-status' });
  const wrap = h('div', { class: 'table-wrap' }, table);
  container.append(status, wrap, more);
  let count = 0;
  const next = async (cursor) => {
    more.replaceChildren();
    status.replaceChildren(h('p', { class: 'muted', text: 'Loading…' }));
    let page;
    try {
      page = await load(cursor);
    } catch (e) {
      status.replaceChildren(missingRoute(e) && onMissing ? onMissing() : messageBox('error', e.message));
      wrap.hidden = true;
      return;
    }
    status.replaceChildren();
    for (const item of page.items || []) {
      count += 1;
      tbody.append(h('tr', rowProps ? rowProps(item) : null, columns.map(([label, cell]) => {
        const v = cell(item);
        return h('td', { dataset: { label } }, v === null || v === undefined || v === '' ? h('span', { class: 'muted', text: '—' }) : v);
      })));
    }
    if (count === 0) {
      wrap.hidden = true;
      status.replaceChildren(h('p', { class: 'empty', text: empty }));
    } else {
      wrap.hidden = false;
    }
    if (page.next_cursor) more.append(button('Load more', () => next(page.next_cursor), { class: 'btn' }));
  };
  return next(undefined);
}

function rowActions(...buttons) {
  const shown = buttons.filter(Boolean);
  return shown.length ? h('div', { class: 'row-actions' }, shown) : null;
}

// ---------- sign in ----------

function renderSignIn(message) {
  me = null;
  renderChrome();
  const main = $('main');
  const form = h('form', { class: 'signin', id: 'signin-form', novalidate: true });
  const token = field(form, 'token', 'Token', {
    type: 'password', required: true, autocomplete: 'off',
    hint: 'Paste a Sigil token (a JWT). It is kept in this browser tab only and forgotten when you sign out or close the tab.',
  });
  form.append(h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn primary', id: 'signin-submit', text: 'Sign in' })));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = token.value.trim().replace(/^bearer\s+/i, '');
    if (!value) {
      showError(form, new ApiError(400, 'invalid_input', 'Paste a token to sign in.', 'token'));
      return;
    }
    await submitting(form, async () => {
      let who;
      try {
        who = await api('GET', '/v1/whoami', { token: value });
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) e.field = 'token';
        throw e;
      }
      token.value = '';
      session.set(value);
      me = who;
      notify(`Signed in as ${who.name}.`);
      const route = currentRoute();
      if (route && PAGES.some((p) => p.path === route.path)) render(true);
      else go(PAGES.find((p) => p.visible()).path);
      return true;
    });
  });
  document.title = 'Sign in · Sigil console';
  main.replaceChildren(h('div', { class: 'signin-wrap' },
    h('h1', { id: 'page-title', tabindex: '-1', text: 'Sign in to the Sigil console' }),
    message ? messageBox('info', message) : null,
    form));
  token.focus();
}

// ---------- bots ----------

function identitiesText(map) {
  return Object.entries(map || {}).map(([k, v]) => `${k}=${v}`).join('\n');
}

function parseIdentities(text) {
  const out = {};
  for (const line of lines(text)) {
    const i = line.indexOf('=');
    if (i <= 0) {
      throw new ApiError(400, 'invalid_input', `Write each identity as service=identity (got "${line}").`, 'identities');
    }
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

function botDialog(bot, done) {
  const editing = Boolean(bot);
  const f = {};
  formDialog(editing ? `Edit bot ${bot.username}` : 'New bot', {
    id: 'bot-dialog',
    submitLabel: editing ? 'Save' : 'Create bot',
    build: (form) => {
      f.username = field(form, 'username', 'Username', {
        required: true, value: editing ? bot.username : '', autofocus: !editing,
        hint: 'Lowercase letters, digits and dashes; not a UUID.',
      });
      f.description = field(form, 'description', 'Description', { type: 'textarea', rows: 2, value: editing ? bot.description : '' });
      f.permissions = field(form, 'permissions', 'Permissions', {
        type: 'textarea', rows: 4, value: editing ? (bot.permissions || []).join('\n') : '',
        hint: 'One claim per line: scope:action:specific, e.g. machines:get,list:*',
        autofocus: editing,
      });
      f.identities = field(form, 'identities', 'Identities', {
        type: 'textarea', rows: 3, value: editing ? identitiesText(bot.identities) : '',
        hint: 'One per line: service=identity, e.g. github=deploy-bot',
      });
    },
    onSubmit: async () => {
      const body = {
        username: f.username.value.trim(),
        description: f.description.value,
        permissions: lines(f.permissions.value),
        identities: parseIdentities(f.identities.value),
      };
      if (editing) {
        if (body.username === bot.username) delete body.username;
        await api('PATCH', orgPath(`/bots/${seg(bot.username)}`), { body });
        notify(`Bot ${body.username || bot.username} saved.`);
      } else {
        await api('POST', orgPath('/bots'), { body });
        notify(`Bot ${body.username} created.`);
      }
      done();
      return true;
    },
  });
}

async function renderBots(ctx) {
  if (can('bots', 'create')) ctx.actions.append(button('New bot', () => botDialog(null, ctx.reload), { class: 'btn primary', id: 'new-bot' }));
  ctx.body.append(h('p', { class: 'intro', text: 'Bots are the machines and services that hold tokens. Deleting a bot revokes all of its tokens.' }));
  await pagedTable(ctx.body, {
    caption: 'Bots',
    empty: 'No bots yet.',
    load: (cursor) => api('GET', orgPath('/bots'), { query: { cursor } }),
    rowProps: (b) => ({ dataset: { bot: b.username } }),
    columns: [
      ['Username', (b) => h('strong', { class: 'name', text: b.username })],
      ['Description', (b) => (b.description ? h('span', { class: 'description', text: b.description }) : null)],
      ['Permissions', (b) => codeList(b.permissions)],
      ['Identities', (b) => {
        const ids = Object.entries(b.identities || {});
        if (!ids.length) return h('span', { class: 'muted', text: 'none' });
        return h('dl', { class: 'pairs' }, ids.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]));
      }],
      ['Live tokens', (b) => (can('tokens', 'list', ['*', b.id, b.username])
        ? h('a', { href: `#/tokens?owner=${encodeURIComponent(b.username)}`, class: 'count', text: String(b.token_count ?? 0), 'aria-label': `${b.token_count ?? 0} live tokens of ${b.username}` })
        : h('span', { class: 'count', text: String(b.token_count ?? 0) }))],
      ['Actions', (b) => rowActions(
        can('tokens', 'issue', [b.id, b.username]) && button('Issue token', () => issueDialog({ owner: b.username }, ctx.reload), { class: 'btn small', 'aria-label': `Issue a token for ${b.username}`, dataset: { action: 'issue' } }),
        can('bots', 'update', [b.id, b.username]) && button('Edit', () => botDialog(b, ctx.reload), { class: 'btn small', 'aria-label': `Edit ${b.username}`, dataset: { action: 'edit' } }),
        can('bots', 'delete', [b.id, b.username]) && button('Delete', () => deleteBot(b, ctx.reload), { class: 'btn small danger', 'aria-label': `Delete ${b.username}`, dataset: { action: 'delete' } }),
      )],
    ],
  });
}

function deleteBot(b, done) {
  const n = b.token_count || 0;
  confirmDialog(`Delete bot ${b.username}?`,
    `The bot and its identities are deleted, and its ${n} live token${n === 1 ? '' : 's'} stop working at once. This cannot be undone.`,
    'Delete bot', {
      id: 'confirm-dialog',
      onConfirm: async () => {
        await api('DELETE', orgPath(`/bots/${seg(b.username)}`));
        notify(`Bot ${b.username} deleted.`);
        done();
        return true;
      },
    });
}

// ---------- tokens ----------

const STATUS_OPTIONS = [
  ['', 'Live (active or exhausted)'], ['active', 'Active'], ['expired', 'Expired'],
  ['revoked', 'Revoked'], ['exhausted', 'Exhausted'], ['all', 'Any status'],
];

function tokenQuery(p) {
  const q = { owner: p.get('owner'), app: p.get('app'), expiring_within: p.get('expiring') };
  const status = p.get('status');
  if (status === 'all') q.include_revoked = 'true';
  else if (status) {
    q.status = status;
    if (status !== 'active') q.include_revoked = 'true';
  }
  return q;
}

async function renderTokens(ctx) {
  const p = ctx.params;
  if (can('tokens', 'issue')) ctx.actions.append(button('Issue token', () => issueDialog({ owner: p.get('owner') || '' }, ctx.reload), { class: 'btn primary', id: 'issue-token' }));
  ctx.actions.append(button('Derive from my token', () => deriveDialog(ctx.reload), { class: 'btn', id: 'derive-token' }));

  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter tokens', novalidate: true });
  const owner = field(form, 'owner', 'Owner', { value: p.get('owner') || '', placeholder: 'bot, email or id', list: 'owner-options' });
  const app = field(form, 'app', 'App', { value: p.get('app') || '', placeholder: 'name or id' });
  const status = field(form, 'status', 'Status', { type: 'select', options: STATUS_OPTIONS, value: p.get('status') || '' });
  const expiring = field(form, 'expiring_within', 'Expiring within', { value: p.get('expiring') || '', placeholder: 'e.g. 14d' });
  form.append(h('div', { class: 'filter-actions' },
    h('button', { type: 'submit', class: 'btn', text: 'Apply filters' }),
    button('Clear', () => go('tokens'), { class: 'btn' })));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go('tokens', { owner: owner.value.trim(), app: app.value.trim(), status: status.value, expiring: expiring.value.trim() });
  });
  ctx.body.append(form, ownerOptions('owner-options'));
  const wanted = p.get('status');
  await pagedTable(ctx.body, {
    caption: 'Tokens',
    empty: 'No tokens match.',
    load: async (cursor) => {
      try {
        const page = await api('GET', orgPath('/tokens'), { query: { ...tokenQuery(p), cursor } });
        // A server without the status filter answers more: keep what was asked for.
        if (wanted && wanted !== 'all') page.items = page.items.filter((t) => !t.status || t.status === wanted);
        return page;
      } catch (e) {
        showError(form, e, { expiring_within: 'expiring_within', include_revoked: 'status' });
        throw e;
      }
    },
    rowProps: (t) => ({ dataset: { tokenId: t.id, status: t.status || '' } }),
    columns: [
      ['Label', (t) => (t.label ? h('span', { class: 'label', text: t.label }) : h('span', { class: 'muted', text: 'no label' }))],
      ['Owner', (t) => h('span', null, h('span', { class: 'owner', text: t.owner }), h('span', { class: 'muted', text: ` (${t.owner_kind})` }))],
      ['Status', (t) => statusBadge(t.status, t.revoked_reason || t.revoke_reason)],
      ['Claims', (t) => codeList(t.claims)],
      ['App', (t) => (t.app ? h('span', { text: t.app }) : h('span', { class: 'muted', text: 'org-wide' }))],
      ['Expires', (t) => when(t.expires_at, true)],
      ['Last used', (t) => when(t.last_used_at, true)],
      ['Actions', (t) => rowActions(
        t.status !== 'revoked' && !t.revoked_at && (t.id === me.token_id || can('tokens', 'revoke', [t.id, t.owner_id, t.owner]))
          && button('Revoke', () => revokeDialog(t, ctx.reload), { class: 'btn small danger', 'aria-label': `Revoke token ${t.label || t.id}`, dataset: { action: 'revoke' } }),
      )],
    ],
  });
}

/** Bot usernames for the owner fields, when the caller may list bots. */
function ownerOptions(id) {
  const list = h('datalist', { id });
  if (can('bots', 'list', '*')) {
    api('GET', orgPath('/bots'), { query: { limit: 500 } })
      .then((page) => add(list, (page.items || []).map((b) => h('option', { value: b.username }))))
      .catch(() => {});
  }
  return list;
}

function tokenFields(form, f, { owner, derive }) {
  if (!derive) {
    f.owner = field(form, 'owner', 'Owner', { required: true, value: owner || '', list: 'issue-owner-options', hint: 'Bot username, user email or id.', autofocus: !owner });
  }
  f.label = field(form, 'label', 'Label', { hint: 'What the token is for, e.g. "CI deploys".', autofocus: Boolean(owner) || derive });
  f.expiry = field(form, 'expiry', 'Expires', {
    value: derive ? '' : '90d', placeholder: derive ? 'as the parent' : '',
    hint: 'A duration (90d, 12h, 1h30m) or a date-time such as 2030-01-31T00:00:00Z.',
  });
  f.app = field(form, 'app', 'App', { hint: derive ? 'Scope the new token to this app (optional).' : 'Scope the token to one app (optional).' });
  f.claims = field(form, 'claims', 'Claims', {
    type: 'textarea', rows: 3,
    hint: derive ? 'One per line, within your own; empty: the same as your token.' : 'One per line; empty: all of the owner\'s permissions.',
  });
  f.allowed_cidrs = field(form, 'allowed_cidrs', 'Allowed networks', { type: 'textarea', rows: 2, hint: 'CIDRs, one per line (optional): the token works only from these.' });
  f.max_uses = field(form, 'max_uses', 'Maximum uses', { type: 'number', min: 1, max: 1000000, inputmode: 'numeric', hint: 'Empty: unlimited.' });
}

function tokenBody(f) {
  const body = { ...expiryFields(f.expiry.value) };
  if (f.owner) body.owner = f.owner.value.trim();
  if (f.label.value.trim()) body.label = f.label.value;
  if (f.app.value.trim()) body.app = f.app.value.trim();
  const claims = lines(f.claims.value);
  if (claims.length) body.claims = claims;
  const cidrs = lines(f.allowed_cidrs.value);
  if (cidrs.length) body.allowed_cidrs = cidrs;
  if (f.max_uses.value.trim()) {
    const n = Number(f.max_uses.value);
    if (!Number.isInteger(n)) throw new ApiError(400, 'invalid_input', 'Maximum uses is a whole number.', 'max_uses');
    body.max_uses = n;
  }
  return body;
}

function issuedDetails(t) {
  return h('dl', { class: 'pairs issued' },
    h('dt', { text: 'Owner' }), h('dd', { text: t.owner || '' }),
    h('dt', { text: 'Token id' }), h('dd', null, h('code', { text: t.id || '' })),
    h('dt', { text: 'Expires' }), h('dd', null, when(t.expires_at, true)),
    h('dt', { text: 'Claims' }), h('dd', null, codeList(t.claims)));
}

const TOKEN_WARNING = 'Copy this token now. It is shown only this once: Sigil keeps no copy and cannot show it again. Whoever holds it acts with its claims, so keep it as secret as a password.';

function issueDialog({ owner }, done) {
  const f = {};
  const key = idempotencyKey();
  formDialog('Issue a token', {
    id: 'issue-dialog',
    submitLabel: 'Issue token',
    aliases: { expires_at: 'expiry' },
    build: (form) => { tokenFields(form, f, { owner }); form.append(ownerOptions('issue-owner-options')); },
    onSubmit: async (form, d) => {
      const issued = await api('POST', orgPath('/tokens'), { body: tokenBody(f), headers: { 'Idempotency-Key': key } });
      showSecret(d, {
        title: 'Token issued', warning: TOKEN_WARNING, label: 'Token (JWT)', secret: issued.token,
        details: issuedDetails(issued),
      });
      done();
      return 'keep';
    },
  });
}

function deriveDialog(done) {
  const f = {};
  formDialog('Derive a token', {
    id: 'derive-dialog',
    submitLabel: 'Derive token',
    aliases: { expires_at: 'expiry' },
    intro: 'Derive a narrower token from the one you signed in with: its claims within yours, its expiry no later, the same owner. Revoking your token revokes it too.',
    build: (form) => tokenFields(form, f, { derive: true }),
    onSubmit: async (form, d) => {
      let issued;
      try {
        issued = await api('POST', '/v1/tokens/attenuate', { body: tokenBody(f) });
      } catch (e) {
        if (missingRoute(e)) throw new ApiError(404, 'not_available', 'Deriving tokens is not available on this server.');
        throw e;
      }
      showSecret(d, {
        title: 'Token derived', warning: TOKEN_WARNING, label: 'Token (JWT)', secret: issued.token,
        details: issuedDetails(issued),
      });
      done();
      return 'keep';
    },
  });
}

function revokeDialog(t, done) {
  let reason;
  confirmDialog(`Revoke token ${t.label || t.id}?`,
    `Every request with this token of ${t.owner} is refused from now on, and tokens derived from it are revoked too. This cannot be undone.`,
    'Revoke token', {
      id: 'confirm-dialog',
      extra: (form) => { reason = field(form, 'reason', 'Reason', { hint: 'Optional; kept in the audit log.' }); },
      onConfirm: async () => {
        const body = reason.value.trim() ? { reason: reason.value.trim() } : undefined;
        await api('DELETE', orgPath(`/tokens/${seg(t.id)}`), { body });
        notify(`Token ${t.label || t.id} revoked.`);
        done();
        return true;
      },
    });
}

// ---------- apps ----------

async function renderApps(ctx) {
  if (can('apps', 'create')) {
    ctx.actions.append(button('New app', () => {
      let name;
      formDialog('New app', {
        id: 'app-dialog',
        submitLabel: 'Create app',
        build: (form) => { name = field(form, 'name', 'Name', { required: true, autofocus: true, hint: 'Lowercase letters, digits and dashes.' }); },
        onSubmit: async () => {
          await api('POST', orgPath('/apps'), { body: { name: name.value.trim() } });
          notify(`App ${name.value.trim()} created.`);
          ctx.reload();
          return true;
        },
      });
    }, { class: 'btn primary', id: 'new-app' }));
  }
  ctx.body.append(h('p', { class: 'intro', text: 'Apps scope tokens: a token issued for an app reaches only that app\'s objects.' }));
  await pagedTable(ctx.body, {
    caption: 'Apps',
    empty: 'No apps yet.',
    load: (cursor) => api('GET', orgPath('/apps'), { query: { cursor } }),
    rowProps: (a) => ({ dataset: { app: a.name } }),
    columns: [
      ['Name', (a) => h('strong', { text: a.name })],
      ['Id', (a) => h('code', { text: a.id })],
      ['Created', (a) => when(a.created_at)],
      ['Actions', (a) => rowActions(
        can('tokens', 'list') && h('a', { class: 'btn small', href: `#/tokens?app=${encodeURIComponent(a.name)}`, text: 'Tokens', 'aria-label': `Tokens of app ${a.name}` }),
        can('apps', 'delete', [a.id, a.name]) && button('Delete', () => confirmDialog(`Delete app ${a.name}?`,
          'The app is deleted. This cannot be undone.', 'Delete app', {
            id: 'confirm-dialog',
            onConfirm: async () => {
              await api('DELETE', orgPath(`/apps/${seg(a.name)}`));
              notify(`App ${a.name} deleted.`);
              ctx.reload();
              return true;
            },
          }), { class: 'btn small danger', 'aria-label': `Delete app ${a.name}` }),
      )],
    ],
  });
}

// ---------- webhooks ----------

const WEBHOOK_SECRET_WARNING = 'Copy the signing secret now. It is shown only this once: Sigil keeps it to sign deliveries but never shows it again. Your receiver checks the Sigil-Signature header of each delivery with it.';

function webhookDialog(done) {
  const f = {};
  formDialog('New webhook', {
    id: 'webhook-dialog',
    submitLabel: 'Create webhook',
    build: (form) => {
      f.url = field(form, 'url', 'URL', {
        type: 'url', required: true, autofocus: true, placeholder: 'https://example.com/hooks/sigil',
        hint: 'http:// or https://; Sigil POSTs each event here.',
      });
      const errId = nextId('events-err');
      const boxes = h('fieldset', { class: 'events', tabindex: '-1', 'aria-describedby': errId, dataset: { field: 'events' } },
        h('legend', { text: 'Events' }));
      f.events = [['*', 'All events (*)'], ...WEBHOOK_EVENTS.map((e) => [e, e])].map(([v, l]) => {
        const id = nextId('ev');
        const box = h('input', { type: 'checkbox', id, name: 'events', value: v, checked: v === '*' });
        boxes.append(h('div', { class: v === '*' ? 'check check-all' : 'check' }, box, h('label', { for: id, text: l })));
        return box;
      });
      // "All events" covers the others (and event types added later).
      const [all, ...each] = f.events;
      const sync = () => { for (const b of each) b.disabled = all.checked; };
      all.addEventListener('change', sync);
      sync();
      form.append(boxes, h('p', { class: 'field-error', id: errId, dataset: { errorFor: 'events' } }));
      f.description = field(form, 'description', 'Description', { type: 'textarea', rows: 2, hint: 'Optional: what receives these events.' });
    },
    onSubmit: async (form, d) => {
      const events = f.events.filter((b) => b.checked && !b.disabled).map((b) => b.value);
      const body = { url: f.url.value.trim(), events };
      if (f.description.value.trim()) body.description = f.description.value;
      let hook;
      try {
        hook = await api('POST', orgPath('/webhooks'), { body });
      } catch (e) {
        if (missingRoute(e)) throw new ApiError(404, 'not_available', 'Webhooks are not available on this server.');
        throw e;
      }
      done();
      showSecret(d, {
        title: 'Webhook created', warning: WEBHOOK_SECRET_WARNING, label: 'Signing secret', secret: hook.secret,
        details: h('dl', { class: 'pairs issued' },
          h('dt', { text: 'URL' }), h('dd', { text: hook.url }),
          h('dt', { text: 'Events' }), h('dd', null, codeList(hook.events)),
          h('dt', { text: 'Webhook id' }), h('dd', null, h('code', { text: hook.id }))),
      });
      return 'keep';
    },
  });
}

/** "HTTP 200, 12 ms": what an attempt got, and how long it took. */
function attemptDetail(x) {
  return [x.status_code != null ? `HTTP ${x.status_code}` : 'no answer', x.duration_ms != null ? `${x.duration_ms} ms` : '']
    .filter(Boolean).join(', ');
}

function resultBadge(result) {
  const kind = result === 'delivered' ? 'good' : 'bad';
  return h('span', { class: `badge badge-${kind}`, text: String(result || 'unknown') });
}

async function showDeliveries(hook, region) {
  const title = h('h2', { tabindex: '-1' }, 'Delivery log of ', h('span', { class: 'url', text: hook.url }));
  region.hidden = false;
  region.dataset.webhook = hook.id;
  region.replaceChildren(h('div', { class: 'section-head' }, title, h('div', { class: 'row-actions' },
    button('Refresh', () => showDeliveries(hook, region), { class: 'btn small', id: 'deliveries-refresh' }),
    button('Close', () => {
      region.hidden = true;
      region.replaceChildren();
      delete region.dataset.webhook;
      const back = document.querySelector(`tr[data-webhook="${CSS.escape(hook.id)}"] [data-action=deliveries]`);
      if (back) back.focus();
    }, { class: 'btn small', id: 'deliveries-close' }))),
  h('p', { class: 'intro', text: 'Each attempt, newest first. A failed delivery is retried with backoff for 24 hours.' }));
  title.focus();
  await pagedTable(region, {
    caption: `Delivery attempts to ${hook.url}, newest first`,
    empty: 'No deliveries yet.',
    onMissing: () => unavailable('The delivery log is'),
    load: (cursor) => api('GET', orgPath(`/webhooks/${seg(hook.id)}/deliveries`), { query: { cursor } }),
    rowProps: (x) => ({ dataset: { delivery: x.id, event: x.event_type, result: x.result } }),
    columns: [
      ['When', (x) => when(x.attempted_at, false, true)],
      ['Event', (x) => h('code', { text: x.event_type || '' })],
      ['Attempt', (x) => String(x.attempt ?? '')],
      ['Result', (x) => h('span', null, resultBadge(x.result),
        x.next_attempt_at ? h('span', { class: 'muted' }, ' next ', when(x.next_attempt_at, true, true)) : null)],
      ['Status code', (x) => (x.status_code != null ? h('code', { text: String(x.status_code) }) : null)],
      ['Duration', (x) => (x.duration_ms != null ? `${x.duration_ms} ms` : null)],
      ['Error', (x) => (x.error ? h('span', { class: 'error-text', text: x.error }) : null)],
    ],
  });
}

/** Sends a `webhook.test` event now and shows its first attempt. */
async function sendTest(w, btn, out, region) {
  // Busy, not disabled: a disabled button would drop the keyboard focus.
  if (btn.getAttribute('aria-disabled') === 'true') return;
  btn.setAttribute('aria-disabled', 'true');
  out.replaceChildren(h('p', { class: 'muted', text: `Sending a test event to ${w.url}…` }));
  delete out.dataset.result;
  try {
    const x = await api('POST', orgPath(`/webhooks/${seg(w.id)}/test`));
    out.dataset.result = x.result;
    const ok = x.result === 'delivered';
    out.replaceChildren(h('div', { class: `box box-${ok ? 'ok' : 'error'}`, role: ok ? null : 'alert' },
      h('p', null, `Test event to ${w.url}: `, h('strong', { class: 'test-result', text: x.result }),
        h('span', { text: ` (${attemptDetail(x)})` })),
      x.error ? h('p', { class: 'error-text', text: x.error }) : null,
      x.next_attempt_at ? h('p', null, 'Retried ', when(x.next_attempt_at, true, true), '.') : null));
    if (region.dataset.webhook === String(w.id)) showDeliveries(w, region);
  } catch (e) {
    out.dataset.result = 'error';
    out.replaceChildren(missingRoute(e) ? unavailable('Test deliveries are') : messageBox('error', e.message));
  } finally {
    btn.removeAttribute('aria-disabled');
  }
}

async function renderWebhooks(ctx) {
  if (can('webhooks', 'create', '*')) ctx.actions.append(button('New webhook', () => webhookDialog(ctx.reload), { class: 'btn primary', id: 'new-webhook' }));
  ctx.body.append(h('p', { class: 'intro', text: 'Webhooks receive a signed POST when tokens are issued, revoked, expiring, expired or leaked, bots come and go, or keys rotate.' }));
  const out = h('div', { class: 'test-result-region', id: 'webhook-test-result', 'aria-live': 'polite' });
  const region = h('section', { class: 'deliveries', id: 'deliveries', 'aria-label': 'Delivery log', hidden: true });
  ctx.body.append(out);
  await pagedTable(ctx.body, {
    caption: 'Webhooks',
    empty: 'No webhooks yet.',
    onMissing: () => {
      ctx.actions.replaceChildren();
      return unavailable('Webhooks are');
    },
    load: (cursor) => api('GET', orgPath('/webhooks'), { query: { cursor } }),
    rowProps: (w) => ({ dataset: { webhook: w.id } }),
    columns: [
      ['URL', (w) => h('span', { class: 'url', text: w.url })],
      ['Events', (w) => codeList(w.events)],
      ['Description', (w) => (w.description ? h('span', { class: 'description', text: w.description }) : null)],
      ['Created', (w) => when(w.created_at)],
      ['Actions', (w) => {
        const test = can('webhooks', 'update', [w.id]) && button('Send test', () => sendTest(w, test, out, region),
          { class: 'btn small', 'aria-label': `Send a test event to ${w.url}`, dataset: { action: 'test' } });
        return rowActions(
          can('webhooks', 'get', [w.id]) && button('Deliveries', () => showDeliveries(w, region),
            { class: 'btn small', 'aria-label': `Delivery log of ${w.url}`, dataset: { action: 'deliveries' } }),
          test,
          can('webhooks', 'delete', [w.id]) && button('Delete', () => confirmDialog('Delete this webhook?',
            `Events are no longer sent to ${w.url}, and its delivery log is deleted with it. This cannot be undone.`, 'Delete webhook', {
              id: 'confirm-dialog',
              onConfirm: async () => {
                await api('DELETE', orgPath(`/webhooks/${seg(w.id)}`));
                notify('Webhook deleted.');
                ctx.reload();
                return true;
              },
            }), { class: 'btn small danger', 'aria-label': `Delete webhook ${w.url}`, dataset: { action: 'delete' } }),
        );
      }],
    ],
  });
  ctx.body.append(region);
}

// ---------- audit ----------

const shortHash = (s) => (s ? String(s).slice(0, 12) : '');
const entries = (n) => `${n ?? 0} ${n === 1 ? 'entry' : 'entries'}`;

async function verifyChain(out) {
  out.replaceChildren(h('p', { class: 'muted', text: 'Verifying…' }));
  delete out.dataset.ok;
  try {
    const r = (await api('GET', orgPath('/audit/verify'))) || {};
    const head = r.head ? h('p', { class: 'head' }, 'Head of the chain: ', h('code', { class: 'hash', text: r.head })) : null;
    out.dataset.ok = String(Boolean(r.ok));
    out.dataset.entries = String(r.entries ?? 0);
    if (r.ok) {
      out.replaceChildren(messageBox('ok', `Chain intact: ${entries(r.entries)} verified.`), head);
    } else {
      const where = r.seq != null ? `at entry #${r.seq}` : 'at its end';
      const entry = r.entry;
      out.replaceChildren(
        messageBox('error', `The audit chain is broken ${where}: ${r.reason || 'an entry does not match its hash'}. ${r.entries === 1 ? 'The entry before it matches' : `The ${entries(r.entries)} before it match`}.`),
        entry ? h('dl', { class: 'pairs broken' },
          h('dt', { text: 'Entry' }), h('dd', null, h('code', { text: `#${entry.seq ?? '?'} ${entry.id}` })),
          h('dt', { text: 'Time' }), h('dd', null, when(entry.created_at, false, true)),
          h('dt', { text: 'Action' }), h('dd', null, h('code', { text: entry.action })),
          h('dt', { text: 'Stored hash' }), h('dd', null, h('code', { class: 'hash', text: entry.hash || 'none' }))) : null,
        entry ? h('pre', { class: 'json', text: JSON.stringify(entry, null, 2) }) : null,
        head && h('p', { class: 'muted' }, 'Last entry that matches: ', h('code', { class: 'hash', text: r.head })));
    }
  } catch (e) {
    out.replaceChildren(missingRoute(e) ? unavailable('Chain verification is') : messageBox('error', e.message));
  }
}

async function renderAudit(ctx) {
  const out = h('div', { class: 'verify-result', 'aria-live': 'polite', id: 'verify-result' });
  if (can('audit', 'list', '*')) {
    ctx.actions.append(button('Verify chain', () => verifyChain(out), { class: 'btn primary', id: 'verify-chain' }));
  }
  ctx.body.append(h('p', { class: 'intro', text: 'Every change in this org, oldest first. Each entry is chained to the one before it by a hash: verification recomputes the chain, so an edited or deleted entry shows.' }), out);
  await pagedTable(ctx.body, {
    caption: 'Audit log',
    empty: 'No entries.',
    load: (cursor) => api('GET', orgPath('/audit'), { query: { cursor } }),
    rowProps: (e) => ({ dataset: { seq: e.seq ?? '' } }),
    columns: [
      ['#', (e) => (e.seq == null ? null : h('span', { class: 'count', text: String(e.seq) }))],
      ['Hash', (e) => (e.hash ? h('code', { class: 'short-hash', title: e.hash, text: shortHash(e.hash) }) : null)],
      ['Time', (e) => when(e.created_at, false, true)],
      ['Actor', (e) => h('span', { text: e.actor })],
      ['Action', (e) => h('code', { text: e.action })],
      ['Target', (e) => h('span', null, e.target_type, e.target_id ? h('code', { class: 'target-id', text: ` ${e.target_id}` }) : null)],
      ['Details', (e) => (e.details && Object.keys(e.details).length ? h('code', { class: 'details', text: JSON.stringify(e.details) }) : null)],
      ['Address', (e) => e.client_ip || null],
    ],
  });
}

// ---------- keys ----------

async function renderKeys(ctx) {
  if (can('keys', 'create', '*')) {
    ctx.actions.append(button('Rotate signing key', () => confirmDialog('Rotate the signing key?',
      'A new key signs new tokens from now on. Tokens signed with older keys keep working until they expire.',
      'Add a new key', {
        id: 'confirm-dialog',
        onConfirm: async () => {
          const k = await api('POST', '/v1/keys/rotate');
          notify(`New signing key ${k.kid}.`);
          ctx.reload();
          return true;
        },
      }), { class: 'btn primary', id: 'rotate-key' }));
  }
  ctx.body.append(h('p', { class: 'intro', text: 'The public keys that may verify a live token, as published at /.well-known/jwks.json for resource servers.' }));
  await pagedTable(ctx.body, {
    caption: 'Signing keys',
    empty: 'No keys published.',
    load: async () => {
      const jwks = await api('GET', '/.well-known/jwks.json');
      return { items: (jwks && jwks.keys) || [] };
    },
    columns: [
      ['Key id', (k) => h('code', { text: k.kid })],
      ['Algorithm', (k) => [k.alg, k.crv].filter(Boolean).join(' · ')],
      ['Use', (k) => k.use || null],
      ['Public key', (k) => (k.x ? h('code', { class: 'details', text: k.x }) : null)],
    ],
  });
}

// ---------- start ----------

async function start() {
  document.querySelector('.skip').addEventListener('click', (ev) => {
    ev.preventDefault();
    const target = $('page-title') || $('main');
    target.focus();
  });
  window.addEventListener('hashchange', () => { if (me && currentRoute()) render(true); });
  const token = session.token();
  if (!token) {
    renderSignIn();
    return;
  }
  try {
    me = await api('GET', '/v1/whoami', { token });
    render(false);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) signOut('Your token is no longer accepted (revoked or expired): sign in again.');
    else {
      renderSignIn(e.message);
    }
  }
}

start();
