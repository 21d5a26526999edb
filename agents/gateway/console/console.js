// The operations console: the board, the grid map, the live feed, one event's history, the
// monthly ranks and the normal/emergency switch, over the gateway's /console/api.
//
// Strings from the server (citizens' descriptions among them) reach the page only through
// text nodes: h() below never parses HTML. Live updates come from one EventSource; nothing polls.
'use strict';

const API = '/console/api';
const LEVELS = ['community', 'street', 'county', 'city'];
const STATES = ['dispatched', 'claimed', 'in_progress', 'resolved'];
const FEED_KINDS = new Set(['escalated', 'returned', 'whistled', 'supervised', 'marked_overdue', 'reopened']);
const FEED_MAX = 200;
const SUPERVISORS = new Set(['supervisor', 'admin', 'dev']);
const RATES = ['response_rate', 'resolution_rate', 'satisfaction_rate'];
// Open counts are skewed (most grids hold 0-2 events), so the shades step by powers of two.
const SHADES = ['#e9eef3', '#c6dbef', '#9ecae1', '#6baed6', '#3182bd', '#08519c'];
const SHADE_LABELS = ['0', '1', '2–3', '4–7', '8–15', '16+'];
const LANG_KEY = 'whistle.console.lang';

const I18N = {
  zh: {
    title: '城市运行指挥平台', nav_board: '态势', nav_ranks: '排名', nav_mode: '平战切换',
    logout: '退出', lang_switch: 'EN', login_title: '登录', ticket_label: '登录票据',
    ticket_hint: '在服务器上运行以下命令获取票据并粘贴到此处：', login_button: '登录',
    ticket_required: '请粘贴登录票据。', session_expired: '会话已过期，请重新登录。', live_on: '实时连接正常', live_off: '实时连接中断，正在重连…',
    board_title: '事件态势', open: '在办', overdue: '超期', supervised: '督办', total: '合计',
    overdue_list: '超期事件', supervised_list: '督办事件', none_now: '暂无',
    level_state: '层级 \\ 状态', last_seq: '记录序号 {n}', feed_title: '动态', feed_empty: '暂无升级、退回、吹哨、督办、超期或重启动态。',
    map_title: '网格地图', map_hint: '点击网格查看事件；滚轮缩放，拖动平移，双击复位。',
    map_empty: '城市配置中没有网格边界。', legend_open: '在办数', legend_overdue: '有超期',
    zoom_in: '放大', zoom_out: '缩小', zoom_reset: '复位',
    grid_pick: '在地图上点击一个网格查看其事件。', grid_events: '{name} 的事件', grid_none: '该网格暂无事件。',
    more: '加载更多', loading: '加载中…', load_failed: '加载失败：{msg}',
    event_title: '事件 #{id}', back: '← 返回态势', f_category: '类别', f_grid: '网格', f_state: '状态',
    f_level: '层级', f_lead: '主办部门', f_candidates: '候选部门', f_assists: '协办部门',
    f_claim_number: '认领号', f_claim_deadline: '认领时限', f_resolve_deadline: '办结时限',
    f_escalations: '升级次数', f_created: '上报时间', f_address: '地址',
    f_feedback: '评价', pending_title: '待触发时限', pending_none: '无待触发时限。', armed: '计时中',
    timeline_title: '处理记录', timeline_older: '更早的 {n} 条记录未显示。', supervise_title: '督办', supervise_note: '督办意见',
    supervise_button: '督办', supervise_ok: '已督办。', flag_overdue: '超期', flag_supervised: '督办中',
    overdue_by: '已过 {d}', due_in: '{d}后', du_d: '天', du_h: '小时', du_m: '分',
    satisfied: '满意', unsatisfied: '不满意', score: '{n} 分', yes: '是', no: '否', system: '系统', via: '经由 {via}',
    b_level: '层级', b_candidates: '候选', b_claim_deadline: '认领时限', b_resolve_deadline: '办结时限',
    b_mode: '模式', b_department: '部门', b_agent: '经办人', b_claim_number: '认领号', b_in_time: '按时认领',
    b_reason: '原因', b_note: '说明', b_from: '从', b_to: '至', b_cause: '原因', b_holder: '原主办', b_released_by: '交回认领',
    b_satisfied: '满意', b_score: '评分', b_comment: '评语', b_into: '并入', b_reporter: '上报人',
    b_how: '方式', b_category: '类别', b_grid: '网格', b_address: '地址', b_description: '描述',
    b_source: '来源', b_resolved_by: '办结部门', b_event: '事件',
    ranks_title: '考核排名', month: '月份', of: '对象', of_departments: '部门', of_county: '区县',
    of_street: '街道', of_community: '社区', r_scope: '名称', r_claimed_in_time: '按时认领',
    r_claim_missed: '认领超时', r_resolved: '解决', r_unresolved: '未解决', r_satisfied: '满意',
    r_unsatisfied: '不满意', response_rate: '响应率', resolution_rate: '解决率', satisfaction_rate: '满意率', ranks_none: '该月暂无数据。',
    mode_title: '平战模式切换', mode_region: '区域', mode_value: '模式', mode_submit: '切换',
    mode_hint: '切换后，该区域内未办结事件的时限按新模式重新计算。仅督办员及以上角色可操作。', mode_ok: '{region} 已切换为{mode}，{n} 个事件的时限正在重排。',
    'level.grid': '网格', 'level.community': '社区', 'level.street': '街道', 'level.county': '区县', 'level.city': '市',
    'state.submitted': '已上报', 'state.dispatched': '待认领', 'state.claimed': '已认领',
    'state.in_progress': '处理中', 'state.resolved': '已办结', 'state.closed': '已关闭',
    'state.reopened': '已重启', 'state.cancelled': '已撤销', 'state.merged': '已合并',
    'kind.submitted': '上报', 'kind.dispatched': '派发', 'kind.claimed': '认领', 'kind.assist_joined': '加入协办',
    'kind.released': '放弃认领', 'kind.progressed': '进展', 'kind.resolved': '办结', 'kind.returned': '退回',
    'kind.whistled': '吹哨', 'kind.escalated': '升级', 'kind.marked_overdue': '标记超期', 'kind.supervised': '督办',
    'kind.feedback_given': '群众评价', 'kind.reopened': '重启', 'kind.merged_into': '合并',
    'kind.report_linked': '关联上报', 'kind.cancelled': '撤销', 'kind.closed': '关闭', 'kind.deadlines_replanned': '时限重排',
    'cause.claim_deadline': '认领超时', 'cause.resolve_deadline': '办结超时', 'cause.whistle': '吹哨',
    'cause.all_returned': '全部退回', 'cause.satisfied': '群众满意', 'cause.quiet_period': '无异议自动关闭',
    'pending.claim_deadline': '认领时限', 'pending.resolve_deadline': '办结时限', 'pending.auto_close': '自动关闭',
    'role.reporter': '上报员', 'role.agent': '部门经办', 'role.hotline': '12345 热线', 'role.supervisor': '督办员',
    'role.admin': '管理员', 'role.console': '指挥台', 'role.dev': '开发', 'role.system': '系统',
    'mode.normal': '平时', 'mode.emergency': '战时',
    'source.grid_app': '网格员', 'source.hotline': '12345 热线', 'source.open311': 'Open311', 'source.supervisor': '督办',
  },
  en: {
    title: 'Operations Console', nav_board: 'Board', nav_ranks: 'Ranks', nav_mode: 'Mode',
    logout: 'Log out', lang_switch: '中文', login_title: 'Log in', ticket_label: 'Console ticket',
    ticket_hint: 'Get a ticket by running this on the server, then paste it here:', login_button: 'Log in',
    ticket_required: 'Paste a ticket first.', session_expired: 'The session expired; please log in again.',
    live_on: 'Live', live_off: 'Live feed lost; reconnecting…',
    board_title: 'Events', open: 'Open', overdue: 'Overdue', supervised: 'Supervised', total: 'Total',
    overdue_list: 'Overdue events', supervised_list: 'Supervised events', none_now: 'none',
    level_state: 'Level \\ state', last_seq: 'record seq {n}',
    feed_title: 'Feed', feed_empty: 'No escalations, returns, whistles, supervisions, overdue marks or reopenings yet.',
    map_title: 'Grid map', map_hint: 'Click a grid for its events; wheel to zoom, drag to pan, double-click to reset.',
    map_empty: 'The city configuration has no grid boundaries.', legend_open: 'open events', legend_overdue: 'overdue',
    zoom_in: 'Zoom in', zoom_out: 'Zoom out', zoom_reset: 'Reset',
    grid_pick: 'Click a grid on the map to list its events.', grid_events: 'Events in {name}', grid_none: 'No events in this grid.',
    more: 'Load more', loading: 'Loading…', load_failed: 'Could not load: {msg}',
    event_title: 'Event #{id}', back: '← Back to the board', f_category: 'Category', f_grid: 'Grid', f_state: 'State',
    f_level: 'Level', f_lead: 'Lead department', f_candidates: 'Candidates', f_assists: 'Assisting',
    f_claim_number: 'Claim number', f_claim_deadline: 'Claim deadline', f_resolve_deadline: 'Resolve deadline',
    f_escalations: 'Escalations', f_created: 'Reported', f_address: 'Address',
    f_feedback: 'Feedback', pending_title: 'Pending deadlines', pending_none: 'No pending deadline.', armed: 'timer armed',
    timeline_title: 'History', timeline_older: '{n} earlier records not shown.', supervise_title: 'Supervise', supervise_note: 'Supervision note',
    supervise_button: 'Supervise', supervise_ok: 'Supervised.', flag_overdue: 'Overdue', flag_supervised: 'Supervised',
    overdue_by: '{d} ago', due_in: 'in {d}', du_d: 'd', du_h: 'h', du_m: 'min',
    satisfied: 'satisfied', unsatisfied: 'not satisfied', score: '{n}/5', yes: 'yes', no: 'no',
    system: 'system', via: 'via {via}',
    b_level: 'level', b_candidates: 'candidates', b_claim_deadline: 'claim by', b_resolve_deadline: 'resolve by',
    b_mode: 'mode', b_department: 'department', b_agent: 'agent', b_claim_number: 'claim', b_in_time: 'in time',
    b_reason: 'reason', b_note: 'note', b_from: 'from', b_to: 'to', b_cause: 'cause', b_holder: 'held by', b_released_by: 'given back by',
    b_satisfied: 'satisfied', b_score: 'score', b_comment: 'comment', b_into: 'into', b_reporter: 'reporter',
    b_how: 'how', b_category: 'category', b_grid: 'grid', b_address: 'address', b_description: 'description',
    b_source: 'source', b_resolved_by: 'resolved by', b_event: 'event',
    ranks_title: 'Monthly ranks', month: 'Month', of: 'Of', of_departments: 'Departments', of_county: 'Counties',
    of_street: 'Streets', of_community: 'Communities', r_scope: 'Name', r_claimed_in_time: 'Claimed in time',
    r_claim_missed: 'Claims missed', r_resolved: 'Resolved', r_unresolved: 'Unresolved', r_satisfied: 'Satisfied',
    r_unsatisfied: 'Unsatisfied', response_rate: 'Response', resolution_rate: 'Resolution', satisfaction_rate: 'Satisfaction',
    ranks_none: 'No figures for this month.',
    mode_title: 'Normal / emergency mode', mode_region: 'Region', mode_value: 'Mode', mode_submit: 'Switch',
    mode_hint: 'Switching replans the deadlines of the region\'s open events. Supervisors and above only.',
    mode_ok: '{region} is now in {mode} mode; the deadlines of {n} events are being replanned.',
    'level.grid': 'grid', 'level.community': 'community', 'level.street': 'street', 'level.county': 'county', 'level.city': 'city',
    'state.submitted': 'submitted', 'state.dispatched': 'dispatched', 'state.claimed': 'claimed',
    'state.in_progress': 'in progress', 'state.resolved': 'resolved', 'state.closed': 'closed',
    'state.reopened': 'reopened', 'state.cancelled': 'cancelled', 'state.merged': 'merged',
    'kind.submitted': 'submitted', 'kind.dispatched': 'dispatched', 'kind.claimed': 'claimed', 'kind.assist_joined': 'assist joined',
    'kind.released': 'released', 'kind.progressed': 'progress', 'kind.resolved': 'resolved', 'kind.returned': 'returned',
    'kind.whistled': 'whistled', 'kind.escalated': 'escalated', 'kind.marked_overdue': 'marked overdue', 'kind.supervised': 'supervised',
    'kind.feedback_given': 'feedback', 'kind.reopened': 'reopened', 'kind.merged_into': 'merged',
    'kind.report_linked': 'report linked', 'kind.cancelled': 'cancelled', 'kind.closed': 'closed',
    'kind.deadlines_replanned': 'deadlines replanned',
    'cause.claim_deadline': 'claim deadline missed', 'cause.resolve_deadline': 'resolve deadline missed', 'cause.whistle': 'whistle',
    'cause.all_returned': 'all candidates returned it', 'cause.satisfied': 'citizen satisfied', 'cause.quiet_period': 'no objection (auto-close)',
    'pending.claim_deadline': 'claim deadline', 'pending.resolve_deadline': 'resolve deadline', 'pending.auto_close': 'auto-close',
    'role.reporter': 'reporter', 'role.agent': 'agent', 'role.hotline': 'hotline', 'role.supervisor': 'supervisor',
    'role.admin': 'admin', 'role.console': 'console', 'role.dev': 'dev', 'role.system': 'system',
    'mode.normal': 'normal', 'mode.emergency': 'emergency',
    'source.grid_app': 'grid worker', 'source.hotline': '12345 hotline', 'source.open311': 'Open311', 'source.supervisor': 'supervisor',
  },
};

const S = {
  lang: 'zh', me: null, city: null, idx: null, board: null, feed: [], es: null,
  view: null, eventId: null, evToken: 0, evData: null,
  grid: null, gridEvents: null, gridCursor: '', gridError: '',
  paths: new Map(), painted: new Map(), mapBase: null, mapVB: null, dragMoved: false,
  supMsg: null, ranks: null, ranksError: '', rankSort: { key: 'response_rate', dir: -1 }, timers: new Map(),
};

// ---- small helpers ----

const $ = (sel) => document.querySelector(sel);
const noop = () => {};

function t(key, vars) {
  let s = I18N[S.lang][key] ?? I18N.zh[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
  return s;
}

// Enum values arrive as "county" from the console's own JSON and as "LEVEL_COUNTY" inside
// protobuf JSON record bodies; both map to the same dictionary key.
const norm = (v) => String(v ?? '').replace(/^(LEVEL|STATE|ESCALATION|CLOSE|MODE|ROLE|TIMER|SOURCE)_/, '').toLowerCase();
function tl(prefix, v) {
  const k = `${prefix}.${norm(v)}`;
  return I18N[S.lang][k] ?? I18N.zh[k] ?? String(v ?? '');
}

// Builds an element; children that are not Nodes become text nodes, never markup.
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat(Infinity)) if (k != null && k !== false) e.append(k instanceof Node ? k : String(k));
  return e;
}

const pad = (n) => String(n).padStart(2, '0');
// Times are the city's local time (its configured UTC offset, China's until the city is read),
// whatever zone the browser is in, so that they agree with whistlectl and the published figures.
function cityDate(ms) {
  const offset = S.city && Number.isFinite(S.city.utc_offset_minutes) ? S.city.utc_offset_minutes : 480;
  return new Date(Number(ms) + offset * 60000);
}
function fmtTime(ms) {
  const n = Number(ms);
  if (!n) return '—';
  const d = cityDate(n);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}
function fmtDur(ms) {
  const m = Math.max(1, Math.round(Math.abs(ms) / 60000)), d = Math.floor(m / 1440), hr = Math.floor(m / 60) % 24;
  const parts = [d && d + t('du_d'), hr && hr + t('du_h'), !d && m % 60 && (m % 60) + t('du_m')];
  return parts.filter(Boolean).join(S.lang === 'zh' ? '' : ' ');
}
const pct = (r) => (r == null || Number.isNaN(Number(r)) ? '—' : (Number(r) * 100).toFixed(1) + '%');

function debounce(key, ms, fn) {
  clearTimeout(S.timers.get(key));
  S.timers.set(key, setTimeout(fn, ms));
}

function setResult(el, msg, isError) {
  el.replaceChildren(msg ? h('p', isError ? { class: 'error', role: 'alert' } : { class: 'ok' }, msg) : '');
  el.classList.toggle('error', !!isError);
}

// ---- city lookups ----

function indexCity(c) {
  const by = (list, key) => new Map((list || []).map((x) => [x[key], x]));
  S.idx = { grids: by(c.grids, 'code'), regions: by(c.regions, 'code'), depts: by(c.departments, 'id'), cats: by(c.categories, 'code') };
}
const regionName = (code) => {
  const r = S.idx && (S.idx.grids.get(code) || S.idx.regions.get(code));
  return (r && r.name) || code || '—';
};
const deptName = (id) => (S.idx && S.idx.depts.get(id)?.name) || id || '—';
function catName(code) {
  const c = S.idx && S.idx.cats.get(code);
  if (!c) return code || '—';
  return (S.lang === 'en' && c.name_en) || c.name || code;
}

// ---- API ----

class ApiError extends Error {
  constructor(status, message, code) { super(message); this.status = status; this.code = code || ''; }
}

async function api(path, body) {
  const res = await fetch(API + path, body === undefined ? { credentials: 'same-origin' } : {
    method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  let data = {};
  try { data = await res.json(); } catch (_) { /* an empty or non-JSON answer: keep {} */ }
  if (!res.ok) {
    const err = new ApiError(res.status, data.error || `HTTP ${res.status}`, data.code);
    // Without a session every call answers 401; /login and /me report it to their callers.
    if (res.status === 401 && path !== '/login' && path !== '/me') {
      err.silent = true;
      showLogin(t('session_expired'));
    }
    throw err;
  }
  return data;
}

// ---- session ----

function showLogin(message) {
  S.me = null;
  S.view = null;  // the next login routes afresh
  closeStream();
  S.feed = [];  // the next principal may see a different part of the city
  renderFeed();
  document.body.classList.add('logged-out');
  for (const v of document.querySelectorAll('[data-view]')) v.hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = message || '';
  $('#who').textContent = '';
  $('#ticket').focus();
}

async function onLogin(ev) {
  ev.preventDefault();
  const ticket = $('#ticket').value.trim();
  if (!ticket) { $('#login-error').textContent = t('ticket_required'); return; }
  const btn = $('#login-button');
  btn.disabled = true;
  try {
    const d = await api('/login', { ticket });
    $('#ticket').value = '';
    await start(d.principal);
  } catch (e) {
    $('#login-error').textContent = e.message;
  } finally {
    btn.disabled = false;
  }
}

async function onLogout() {
  try { await api('/logout', {}); } catch (_) { /* the session is gone either way */ }
  showLogin('');
}

function renderWho() {
  const p = S.me;
  $('#who').replaceChildren(p ? h('span', {}, h('b', {}, p.name), ' · ', tl('role', p.role),
    p.region ? ` · ${regionName(p.region)}` : '') : '');
}

async function start(principal) {
  S.me = principal;
  document.body.classList.remove('logged-out');
  $('#login').hidden = true;
  $('#login-error').textContent = '';
  try {
    if (!S.city) {
      const city = await api('/city');
      S.city = city;
      indexCity(city);
      buildMap();
      fillModeRegions();
    }
  } catch (e) {
    if (e.silent) return;
    $('#grid-events').replaceChildren(h('p', { class: 'error', role: 'alert' }, t('load_failed', { msg: e.message })));
  }
  renderWho();
  openStream();
  api('/board').then(setBoard, noop);  // the stream sends it too; this fills the page sooner
  route();
}

// ---- live stream ----

function openStream() {
  closeStream();
  const es = new EventSource(API + '/stream');
  S.es = es;
  es.addEventListener('board', (e) => { const d = parseJSON(e.data); if (d) setBoard(d); });
  es.addEventListener('record', (e) => { const r = parseJSON(e.data); if (r) onRecord(r); });
  es.onopen = () => setLive(true);
  es.onerror = () => {
    setLive(false);
    if (es.readyState === EventSource.CLOSED) onStreamClosed(es);
  };
}

function closeStream() {
  if (S.es) S.es.close();
  S.es = null;
  setLive(false);
}

// EventSource retries network failures itself but gives up on an HTTP error (a 401 once the
// session expired): ask /me which it was, then log out or reopen once after a pause.
async function onStreamClosed(es) {
  if (S.es !== es) return;
  try {
    await api('/me');
  } catch (e) {
    if (e.status === 401) { if (S.es === es) showLogin(t('session_expired')); return; }
  }
  setTimeout(() => { if (S.es === es && S.me) openStream(); }, 5000);
}

function setLive(on) {
  const el = $('#live');
  el.className = 'live ' + (on ? 'on' : 'off');
  el.title = t(on ? 'live_on' : 'live_off');
}

const parseJSON = (s) => { try { return JSON.parse(s); } catch (_) { return null; } };

function onRecord(r) {
  const kind = norm(r.kind);
  if (FEED_KINDS.has(kind)) {
    S.feed.unshift(r);
    if (S.feed.length > FEED_MAX) S.feed.length = FEED_MAX;
    const ul = $('#feed');
    ul.prepend(feedItem(r));
    while (ul.children.length > FEED_MAX) ul.lastElementChild.remove();
    $('#feed-empty').hidden = true;
  }
  // A burst of records for one event (claim, progress, resolve in one batch) costs one fetch.
  if (S.view === 'event' && String(r.event_id) === String(S.eventId)) {
    debounce('event', 150, () => showEvent(S.eventId, true));
  }
  if (S.grid && r.grid === S.grid) debounce('grid', 300, () => loadGridEvents(true));
}

// ---- board ----

function buildBoardTable() {
  const head = h('tr', {}, h('th', { class: 'corner' }, t('level_state')),
    STATES.map((s) => h('th', {}, tl('state', s))), h('th', {}, t('total')));
  const rows = LEVELS.map((l) => h('tr', {}, h('th', {}, tl('level', l)),
    STATES.map((s) => h('td', { 'data-level': l, 'data-state': s }, '0')),
    h('td', { class: 'total', 'data-row-total': l }, '0')));
  const foot = h('tr', {}, h('th', {}, t('total')),
    STATES.map((s) => h('td', { class: 'total', 'data-col-total': s }, '0')),
    h('td', { class: 'total', id: 'board-sum' }, '0'));
  $('#board').replaceChildren(h('thead', {}, head), h('tbody', {}, rows), h('tfoot', {}, foot));
}

// A board from the stream may carry only the grids that changed (grids_delta); any other is whole.
function setBoard(b) {
  // A whole board older than what the page shows (the page's own fetch, answered after a newer
  // delta from the stream) would put grids back to old counts: drop it.
  if (!b.grids_delta && S.board && Number(S.board.last_seq) > Number(b.last_seq)) return;
  if (!b.grids_delta || !S.gridCounts) S.gridCounts = new Map();
  for (const g of b.grids || []) {
    if (Number(g.open) > 0) S.gridCounts.set(g.grid, g); else S.gridCounts.delete(g.grid);
  }
  S.board = b;
  renderBoard();
  updateMap();
}

function renderBoard() {
  const b = S.board || {};
  const n = new Map();
  for (const c of b.cells || []) n.set(`${norm(c.level)}/${norm(c.state)}`, Number(c.count) || 0);
  const rowSum = {}, colSum = {};
  let sum = 0;
  for (const td of document.querySelectorAll('#board td[data-level][data-state]')) {
    const { level, state } = td.dataset;
    const v = n.get(`${level}/${state}`) || 0;
    td.textContent = String(v);
    td.classList.toggle('zero', v === 0);
    rowSum[level] = (rowSum[level] || 0) + v;
    colSum[state] = (colSum[state] || 0) + v;
    sum += v;
  }
  for (const l of LEVELS) $(`#board td[data-row-total="${l}"]`).textContent = String(rowSum[l] || 0);
  for (const s of STATES) $(`#board td[data-col-total="${s}"]`).textContent = String(colSum[s] || 0);
  $('#board-sum').textContent = String(sum);
  $('#total-open').textContent = String(Number(b.open) || 0);
  $('#total-overdue').textContent = String(Number(b.overdue) || 0);
  $('#total-supervised').textContent = String(Number(b.supervised) || 0);
  $('#board-seq').textContent = b.last_seq != null ? t('last_seq', { n: b.last_seq }) : '';
  // The events to watch: links to each one's page (newest first).
  for (const [sel, ids] of [['#overdue-list', b.overdue_ids], ['#supervised-list', b.supervised_ids]]) {
    const list = (ids || []).map((id) => h('a', { href: `#/event/${id}`, 'data-event-id': String(id) }, `#${id}`));
    $(sel).replaceChildren(...(list.length ? list : [h('span', { class: 'muted' }, t('none_now'))]));
  }
}

// ---- map ----

const SVG_NS = 'http://www.w3.org/2000/svg';
const svgEl = (tag, attrs) => {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
};

// Built once per city; board updates only repaint the paths whose counts changed.
function buildMap() {
  const svg = $('#map');
  svg.replaceChildren();
  S.paths.clear();
  S.painted.clear();
  const pt = (p) => [Number(Array.isArray(p) ? p[0] : p.lon), Number(Array.isArray(p) ? p[1] : p.lat)];
  const grids = (S.city.grids || []).filter((g) => Array.isArray(g.polygon) && g.polygon.length >= 3);
  if (!grids.length) {
    svg.append(Object.assign(svgEl('text', { x: 20, y: 40, class: 'map-empty' }), { textContent: t('map_empty') }));
    return;
  }
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const g of grids) for (const p of g.polygon) {
    const [lon, lat] = pt(p);
    x0 = Math.min(x0, lon); x1 = Math.max(x1, lon); y0 = Math.min(y0, lat); y1 = Math.max(y1, lat);
  }
  // A degree of longitude is shorter than one of latitude by cos(latitude): without this the
  // city would look stretched sideways.
  const kx = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
  const scale = 1000 / Math.max((x1 - x0) * kx, y1 - y0, 1e-9);
  const W = (x1 - x0) * kx * scale, H = (y1 - y0) * scale, padding = 10;
  S.mapBase = [-padding, -padding, W + 2 * padding, H + 2 * padding];
  S.mapVB = S.mapBase.slice();
  svg.setAttribute('viewBox', S.mapBase.join(' '));
  const frag = document.createDocumentFragment();
  for (const g of grids) {
    const d = 'M' + g.polygon.map((p) => {
      const [lon, lat] = pt(p);
      return ((lon - x0) * kx * scale).toFixed(1) + ',' + ((y1 - lat) * scale).toFixed(1);
    }).join('L') + 'Z';
    const path = svgEl('path', { d, 'data-grid': g.code, fill: SHADES[0], 'data-open': 0 });
    const title = svgEl('title');
    path.append(title);
    frag.append(path);
    S.paths.set(g.code, { path, title });
  }
  svg.append(frag);
  for (const code of S.paths.keys()) paintGrid(code, null);
  renderLegend();
  updateMap();
}

const shade = (open) => (open <= 0 ? 0 : Math.min(SHADES.length - 1, 1 + Math.floor(Math.log2(open))));

function paintGrid(code, g) {
  const p = S.paths.get(code);
  if (!p) return;
  const open = Number(g?.open) || 0, overdue = Number(g?.overdue) || 0, sup = Number(g?.supervised) || 0;
  p.path.setAttribute('fill', SHADES[shade(open)]);
  p.path.setAttribute('data-open', open);
  p.path.classList.toggle('overdue', overdue > 0);
  if (overdue > 0) {
    p.path.setAttribute('stroke', '#d62728');
    p.path.parentNode.append(p.path);  // drawn last, so neighbours do not hide its red outline
  } else {
    p.path.removeAttribute('stroke');
  }
  p.title.textContent = `${regionName(code)} (${code})\n${t('open')} ${open} · ${t('overdue')} ${overdue} · ${t('supervised')} ${sup}`;
}

function updateMap(all) {
  const now = S.gridCounts || new Map();
  const codes = all ? S.paths.keys() : new Set([...S.painted.keys(), ...now.keys()]);
  for (const code of codes) {
    const g = now.get(code);
    const sig = g ? `${g.open}/${g.overdue}/${g.supervised}` : '';
    if (!all && (S.painted.get(code) || '') === sig) continue;
    paintGrid(code, g);
    if (sig) S.painted.set(code, sig); else S.painted.delete(code);
  }
  const sel = S.grid && S.paths.get(S.grid);
  if (sel) sel.path.parentNode.append(sel.path);  // the selection outline stays on top
}

function renderLegend() {
  $('#map-legend').replaceChildren(h('span', { class: 'muted' }, t('legend_open') + ':'),
    ...SHADES.map((c, i) => h('span', { class: 'sw' }, h('i', { style: `background:${c}` }), SHADE_LABELS[i])),
    h('span', { class: 'sw' }, h('i', { class: 'od' }), t('legend_overdue')));
}

function initMapControls() {
  const svg = $('#map');
  const setVB = () => svg.setAttribute('viewBox', S.mapVB.join(' '));
  const toSvg = (x, y) => {
    const p = svg.createSVGPoint();
    p.x = x; p.y = y;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  };
  const zoom = (f, cx, cy) => {
    if (!S.mapBase) return;
    const vb = S.mapVB;
    const w = Math.min(S.mapBase[2], Math.max(S.mapBase[2] / 60, vb[2] * f));
    const k = w / vb[2];
    const c = cx == null ? { x: vb[0] + vb[2] / 2, y: vb[1] + vb[3] / 2 } : toSvg(cx, cy);
    S.mapVB = [c.x - (c.x - vb[0]) * k, c.y - (c.y - vb[1]) * k, vb[2] * k, vb[3] * k];
    setVB();
  };
  const reset = () => { if (S.mapBase) { S.mapVB = S.mapBase.slice(); setVB(); } };
  svg.addEventListener('wheel', (e) => { e.preventDefault(); zoom(e.deltaY < 0 ? 0.8 : 1.25, e.clientX, e.clientY); }, { passive: false });
  svg.addEventListener('dblclick', reset);
  $('#zoom-in').addEventListener('click', () => zoom(0.67));
  $('#zoom-out').addEventListener('click', () => zoom(1.5));
  $('#zoom-reset').addEventListener('click', reset);
  let drag = null;
  svg.addEventListener('pointerdown', (e) => {
    if (e.button === 0 && S.mapBase) drag = { x: e.clientX, y: e.clientY, vb: S.mapVB.slice(), id: e.pointerId };
    S.dragMoved = false;
  });
  svg.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!S.dragMoved && Math.abs(dx) + Math.abs(dy) < 5) return;
    // Capture only once it is a drag: a captured pointer would retarget a plain click to the svg.
    if (!S.dragMoved) { S.dragMoved = true; svg.setPointerCapture(drag.id); }
    const r = svg.getBoundingClientRect();
    const k = Math.max(drag.vb[2] / r.width, drag.vb[3] / r.height);
    S.mapVB = [drag.vb[0] - dx * k, drag.vb[1] - dy * k, drag.vb[2], drag.vb[3]];
    setVB();
  });
  for (const ev of ['pointerup', 'pointercancel']) svg.addEventListener(ev, () => { drag = null; });
  svg.addEventListener('click', (e) => {
    if (S.dragMoved) { S.dragMoved = false; return; }
    const p = e.target.closest && e.target.closest('path[data-grid]');
    if (p) selectGrid(p.getAttribute('data-grid'));
  });
}

function selectGrid(code) {
  const old = S.grid && S.paths.get(S.grid);
  if (old) old.path.classList.remove('selected');
  S.grid = code;
  const p = S.paths.get(code);
  if (p) { p.path.classList.add('selected'); p.path.parentNode.append(p.path); }
  S.gridEvents = null;
  S.gridCursor = '';
  S.gridError = '';
  renderGridEvents();
  loadGridEvents(true);
}

async function loadGridEvents(reset) {
  const code = S.grid;
  if (!code) return;
  const cursor = reset ? '' : S.gridCursor;
  try {
    const d = await api(`/events?grid=${encodeURIComponent(code)}` + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''));
    if (S.grid !== code) return;  // another grid was picked meanwhile
    // A live refresh reloads the first page only: newer events come first, older pages rarely change.
    S.gridEvents = reset ? (d.events || []) : (S.gridEvents || []).concat(d.events || []);
    S.gridCursor = d.next_cursor || '';
    S.gridError = '';
  } catch (e) {
    if (e.silent || S.grid !== code) return;
    S.gridError = e.message;
  }
  renderGridEvents();
}

const flags = (ev) => [ev.overdue && h('span', { class: 'badge red' }, t('flag_overdue')),
  ev.supervised && h('span', { class: 'badge amber' }, t('flag_supervised'))];

function renderGridEvents() {
  const box = $('#grid-events');
  if (!S.grid) { box.replaceChildren(h('p', { class: 'muted' }, t('grid_pick'))); return; }
  const kids = [h('h2', {}, t('grid_events', { name: `${regionName(S.grid)} (${S.grid})` }))];
  if (S.gridError) kids.push(h('p', { class: 'error', role: 'alert' }, t('load_failed', { msg: S.gridError })));
  if (!S.gridEvents) kids.push(h('p', { class: 'muted' }, t('loading')));
  else if (!S.gridEvents.length) kids.push(h('p', { class: 'muted' }, t('grid_none')));
  for (const ev of S.gridEvents || []) {
    kids.push(h('a', { class: 'ev-row', href: `#/event/${encodeURIComponent(ev.id)}`, 'data-event-id': ev.id },
      h('span', { class: 'id' }, '#' + ev.id),
      h('span', { class: 'time' }, fmtTime(ev.created_at_ms)),
      h('span', {}, catName(ev.category)),
      h('span', {}, h('span', { class: `badge st-${norm(ev.state)}` }, tl('state', ev.state)), ' ', tl('level', ev.level), ' ', flags(ev)),
      h('span', { class: 'desc' }, ev.description || ev.address || '')));
  }
  if (S.gridCursor) kids.push(h('button', { type: 'button', class: 'more', onclick: () => loadGridEvents(false) }, t('more')));
  box.replaceChildren(...kids);
}

// ---- feed ----

function feedItem(r) {
  return h('li', { 'data-kind': norm(r.kind), 'data-event-id': r.event_id },
    h('span', { class: 'time' }, fmtTime(r.at_ms)),
    h('a', { href: `#/event/${encodeURIComponent(r.event_id)}` }, '#' + r.event_id),
    h('span', { class: `badge k-${norm(r.kind)}` }, tl('kind', r.kind)),
    h('span', {}, tl('level', r.level)),
    h('span', { class: 'grid-name' }, regionName(r.grid)));
}

function renderFeed() {
  $('#feed').replaceChildren(...S.feed.map(feedItem));
  $('#feed-empty').hidden = S.feed.length > 0;
}

// ---- event page ----

// Looks up a dotted path in a protobuf JSON body, accepting camelCase or snake_case names;
// "a|b" tries alternatives. Returns undefined for absent or empty values.
function pick(obj, spec) {
  for (const alt of spec.split('|')) {
    let v = obj;
    for (const seg of alt.split('.')) {
      if (v == null || typeof v !== 'object') { v = undefined; break; }
      const snake = seg.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
      v = v[seg] !== undefined ? v[seg] : v[snake];
    }
    if (v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && !v.length)) return v;
  }
  return undefined;
}

const evLink = (id) => h('a', { href: `#/event/${encodeURIComponent(id)}` }, '#' + id);
const F = {
  lvl: (v) => tl('level', v), time: fmtTime, dept: deptName, grid: regionName, cat: catName,
  depts: (v) => [].concat(v).map(deptName).join('、'), mode: (v) => tl('mode', v), cause: (v) => tl('cause', v),
  src: (v) => tl('source', v), yes: (v) => t(v ? 'yes' : 'no'), ev: evLink,
  sat: (v) => t(v ? 'satisfied' : 'unsatisfied'), score: (v) => t('score', { n: v }),
};
// Per record kind: [field path, label, formatter, value when protobuf JSON omitted a default].
const DEPT = ['department', 'b_department', F.dept];
const REASON = ['reason', 'b_reason'];
const BODY = {
  submitted: [['report.category', 'b_category', F.cat], ['grid', 'b_grid', F.grid], ['report.source', 'b_source', F.src],
    ['report.address', 'b_address'], ['report.description', 'b_description']],
  dispatched: [['level', 'b_level', F.lvl], ['candidates', 'b_candidates', F.depts], ['claimDeadlineMs', 'b_claim_deadline', F.time],
    ['resolveDeadlineMs', 'b_resolve_deadline', F.time], ['mode', 'b_mode', F.mode]],
  claimed: [DEPT, ['agent', 'b_agent'], ['claimNumber', 'b_claim_number'], ['inTime', 'b_in_time', F.yes, false]],
  assist_joined: [DEPT],
  released: [DEPT, REASON],
  progressed: [DEPT, ['note', 'b_note']],
  resolved: [DEPT, ['note', 'b_note']],
  returned: [DEPT, REASON],
  whistled: [['fromLevel', 'b_from', F.lvl], ['toLevel', 'b_to', F.lvl], DEPT, REASON],
  escalated: [['fromLevel', 'b_from', F.lvl], ['toLevel', 'b_to', F.lvl], ['cause', 'b_cause', F.cause], ['holder', 'b_holder', F.dept],
    ['releasedBy', 'b_released_by', F.dept]],
  marked_overdue: [['cause', 'b_cause', F.cause], ['holder', 'b_holder', F.dept]],
  supervised: [['note', 'b_note']],
  feedback_given: [['feedback.satisfied|satisfied', 'b_satisfied', F.sat, false], ['feedback.score|score', 'b_score', F.score],
    ['feedback.comment|comment', 'b_comment'], ['resolvedBy', 'b_resolved_by', F.dept]],
  reopened: [REASON],
  merged_into: [['intoEventId|mergedInto|eventId', 'b_into', F.ev]],
  report_linked: [['link.reporter|reporter', 'b_reporter'], ['link.eventId|eventId', 'b_event', F.ev]],
  cancelled: [REASON],
  closed: [['how|cause', 'b_how', F.cause]],
  deadlines_replanned: [['mode', 'b_mode', F.mode], ['claimDeadlineMs', 'b_claim_deadline', F.time],
    ['resolveDeadlineMs', 'b_resolve_deadline', F.time]],
};

function bodyView(kind, body) {
  const spec = BODY[kind];
  if (!spec) return h('code', { class: 'json' }, JSON.stringify(body ?? {}));
  const out = [];
  for (const [path, label, fmt, dflt] of spec) {
    let v = pick(body || {}, path);
    if (v === undefined) v = dflt;
    if (v === undefined) continue;
    out.push(h('span', { class: 'kv' }, h('span', { class: 'k' }, t(label)), h('span', { class: 'v' }, fmt ? fmt(v) : String(v))));
  }
  return out;
}

function actorView(a) {
  a = a || {};
  const role = norm(a.role);
  return h('span', { class: 'actor' }, h('b', {}, a.principal || (role ? tl('role', role) : t('system'))),
    role && a.principal ? h('span', { class: 'muted' }, ' ', tl('role', role)) : null,
    a.department ? ` · ${deptName(a.department)}` : null,
    a.via ? h('span', { class: 'muted' }, ' ', t('via', { via: a.via })) : null);
}

async function showEvent(id, live) {
  const page = $('#event-page');
  const token = ++S.evToken;
  if (!live) { S.evData = null; S.supMsg = null; page.replaceChildren(h('p', { class: 'muted' }, t('loading'))); }
  try {
    const d = await api(`/events/${encodeURIComponent(id)}`);
    if (token !== S.evToken) return;  // the user moved on while it loaded
    S.evData = d;
    renderEvent();
  } catch (e) {
    if (e.silent || token !== S.evToken) return;
    page.replaceChildren(h('a', { href: '#/' }, t('back')), h('p', { class: 'error', role: 'alert' }, t('load_failed', { msg: e.message })));
  }
}

function renderEvent() {
  const d = S.evData;
  if (!d) return;
  const ev = d.event || {};
  const page = $('#event-page');
  const typed = $('#supervise-note')?.value || '';  // a live re-render must not eat a half-written note
  const row = (k, v) => [h('dt', {}, t(k)), h('dd', {}, v == null || v === '' ? '—' : v)];
  const fb = ev.feedback;
  const summary = h('dl', { class: 'summary' },
    row('f_category', catName(ev.category)), row('f_grid', `${regionName(ev.grid)} (${ev.grid || ''})`),
    row('f_state', tl('state', ev.state)), row('f_level', tl('level', ev.level)),
    row('f_lead', ev.lead ? deptName(ev.lead) : ''), row('f_candidates', F.depts(ev.candidates || [])),
    row('f_assists', F.depts(ev.assists || [])), row('f_claim_number', Number(ev.claim_number) ? String(ev.claim_number) : ''),
    row('f_claim_deadline', fmtTime(ev.claim_deadline_ms)), row('f_resolve_deadline', fmtTime(ev.resolve_deadline_ms)),
    row('f_escalations', String(ev.escalations ?? 0)), row('f_created', fmtTime(ev.created_at_ms)),
    row('f_address', ev.address),
    row('f_feedback', fb ? [F.sat(fb.satisfied), fb.score ? ' · ' + F.score(fb.score) : '', fb.comment ? ` · “${fb.comment}”` : ''] : ''));
  const now = Date.now();
  const pending = (d.pending || []).map((p) => {
    const left = Number(p.due_ms) - now;
    // The engine arms only the earliest deadline; the others wait their turn.
    return h('li', { 'data-kind': norm(p.kind), 'data-armed': p.armed ? 'true' : null }, h('b', {}, tl('pending', p.kind)), ' ',
      fmtTime(p.due_ms), h('span', { class: left < 0 ? 'red' : 'muted' }, ' (', t(left < 0 ? 'overdue_by' : 'due_in', { d: fmtDur(left) }), ')'),
      p.armed ? [' ', h('span', { class: 'badge' }, t('armed'))] : null);
  });
  const timeline = (d.timeline || []).slice().sort((a, b) => Number(a.seq) - Number(b.seq)).map((r) =>
    h('li', { 'data-kind': norm(r.kind), 'data-seq': r.seq },
      h('span', { class: 'time' }, fmtTime(r.at_ms)), actorView(r.actor),
      h('span', { class: `badge k-${norm(r.kind)}` }, tl('kind', r.kind)),
      h('span', { class: 'body' }, bodyView(norm(r.kind), r.body))));
  const kids = [
    h('a', { href: '#/', class: 'back' }, t('back')),
    h('h2', {}, t('event_title', { id: ev.id }), ' ', h('span', { class: `badge st-${norm(ev.state)}` }, tl('state', ev.state)),
      ' ', h('span', { class: 'badge' }, tl('level', ev.level)), ' ', flags(ev)),
    h('p', { class: 'description' }, ev.description || '—'),
    summary,
    h('h3', {}, t('pending_title')),
    h('ul', { id: 'pending', class: 'pending' }, pending),
    pending.length ? null : h('p', { class: 'muted' }, t('pending_none')),
  ];
  if (S.me && SUPERVISORS.has(norm(S.me.role))) kids.push(superviseForm(ev.id, typed));
  kids.push(h('h3', {}, t('timeline_title')),
    Number(d.older_history) > 0 ? h('p', { id: 'timeline-older', class: 'muted' }, t('timeline_older', { n: d.older_history })) : null,
    h('ol', { id: 'timeline', class: 'timeline' }, timeline));
  page.replaceChildren(...kids.filter(Boolean));
}

function superviseForm(id, typed) {
  const note = h('textarea', { id: 'supervise-note', rows: 2, placeholder: t('supervise_note') });
  note.value = typed;
  const result = h('div', { id: 'supervise-result' });
  if (S.supMsg) setResult(result, S.supMsg.text, S.supMsg.error);
  const btn = h('button', { type: 'submit', id: 'supervise-button' }, t('supervise_button'));
  const onsubmit = async (e) => {
    e.preventDefault();
    btn.disabled = true;
    try {
      await api(`/events/${encodeURIComponent(id)}/supervise`, { note: note.value.trim() });
      note.value = '';
      S.supMsg = { text: t('supervise_ok'), error: false };
      setResult(result, S.supMsg.text, false);
      showEvent(id, true);
    } catch (err) {
      if (err.silent) return;
      // Kept in S so the re-render of a live record does not wipe the answer.
      S.supMsg = { text: err.code ? `${err.message} (${err.code})` : err.message, error: true };
      setResult(result, S.supMsg.text, true);
    } finally {
      btn.disabled = false;
    }
  };
  return h('form', { class: 'supervise', onsubmit }, h('h3', {}, t('supervise_title')),
    h('label', { for: 'supervise-note', class: 'muted' }, t('supervise_note')), note, btn, result);
}

// ---- ranks ----

async function loadRanks() {
  const month = $('#ranks-month').value, of = $('#ranks-of').value;
  S.ranksError = '';
  $('#ranks-body').replaceChildren(h('p', { class: 'muted' }, t('loading')));
  try {
    const d = await api(`/ranks?month=${encodeURIComponent(month)}&of=${encodeURIComponent(of)}`);
    if ($('#ranks-month').value !== month || $('#ranks-of').value !== of) return;  // superseded
    S.ranks = d;
  } catch (e) {
    if (e.silent) return;
    S.ranks = null;
    S.ranksError = e.message;
  }
  renderRanks();
}

function renderRanks() {
  const body = $('#ranks-body');
  if (S.ranksError) { body.replaceChildren(h('p', { class: 'error', role: 'alert' }, t('load_failed', { msg: S.ranksError }))); return; }
  if (!S.ranks) return;
  const { key, dir } = S.rankSort;
  // Rows without a rate (nothing to measure) sink to the bottom in either direction.
  const rows = (S.ranks.rows || []).slice().sort((a, b) => {
    const x = a[key], y = b[key];
    if (x == null || y == null) return (x == null) - (y == null);
    return dir * (Number(x) - Number(y)) || String(a.scope).localeCompare(String(b.scope));
  });
  if (!rows.length) { body.replaceChildren(h('p', { class: 'muted' }, t('ranks_none'))); return; }
  const counts = ['claimed_in_time', 'claim_missed', 'resolved', 'unresolved', 'satisfied', 'unsatisfied'];
  const of = $('#ranks-of').value;
  const name = (r) => r.name || (of === 'departments' ? deptName(r.scope) : regionName(r.scope));
  const head = h('tr', {}, h('th', {}, '#'), h('th', {}, t('r_scope')), counts.map((c) => h('th', { class: 'num' }, t('r_' + c))),
    RATES.map((r) => h('th', { class: 'num', 'aria-sort': r === key ? (dir < 0 ? 'descending' : 'ascending') : 'none' },
      h('button', { type: 'button', class: 'sort', 'data-sort': r, id: `sort-${r}`, onclick: () => sortRanks(r) },
        t(r), r === key ? (dir < 0 ? ' ▼' : ' ▲') : ''))));
  body.replaceChildren(h('table', { class: 'grid-table ranks-table' }, h('thead', {}, head), h('tbody', {},
    rows.map((r, i) => h('tr', { 'data-scope': r.scope }, h('td', { class: 'num muted' }, i + 1),
      h('td', {}, name(r), r.name && r.name !== r.scope ? h('span', { class: 'muted small' }, ' ', r.scope) : null),
      counts.map((c) => h('td', { class: 'num' }, Number(r[c]) || 0)),
      RATES.map((k) => h('td', { class: 'num rate', 'data-rate': k }, pct(r[k]))))))));
}

function sortRanks(key) {  // a new column starts best-first; the same one flips
  S.rankSort = { key, dir: S.rankSort.key === key ? -S.rankSort.dir : -1 };
  renderRanks();
}

// ---- mode ----

function fillModeRegions() {
  const sel = $('#mode-region');
  const keep = sel.value;
  const regions = (S.city && S.city.regions) || [];
  const byLevel = (l) => regions.filter((r) => norm(r.level) === l);
  const opts = [];
  // Each county, then its streets indented under it; streets of unknown counties at the end.
  const counties = byLevel('county'), streets = byLevel('street');
  const seen = new Set();
  for (const c of counties) {
    opts.push(h('option', { value: c.code }, `${c.name} (${tl('level', 'county')})`));
    for (const s of streets.filter((x) => x.parent === c.code)) {
      seen.add(s.code);
      opts.push(h('option', { value: s.code }, `\u3000${s.name} (${tl('level', 'street')})`));
    }
  }
  for (const s of streets) if (!seen.has(s.code)) opts.push(h('option', { value: s.code }, `${s.name} (${tl('level', 'street')})`));
  sel.replaceChildren(...opts);
  if (keep) sel.value = keep;
}

async function onModeSubmit(e) {
  e.preventDefault();
  const region = $('#mode-region').value, mode = $('#mode-value').value;
  const out = $('#mode-result'), btn = $('#mode-submit');
  btn.disabled = true;
  try {
    const d = await api('/mode', { region, mode });
    setResult(out, t('mode_ok', { region: regionName(d.region || region), mode: tl('mode', d.mode || mode), n: Number(d.replanned_events) || 0 }), false);
  } catch (err) {
    if (!err.silent) setResult(out, err.code ? `${err.message} (${err.code})` : err.message, true);
  } finally {
    btn.disabled = false;
  }
}

// ---- routing and language ----

function route() {
  if (!S.me) return;
  const path = location.hash.replace(/^#/, '') || '/';
  const m = path.match(/^\/event\/([^/?]+)/);
  const view = m ? 'event' : path === '/ranks' ? 'ranks' : path === '/mode' ? 'mode' : 'board';
  const id = m ? decodeURIComponent(m[1]) : null;
  const changed = view !== S.view || id !== S.eventId;
  S.view = view;
  S.eventId = id;
  for (const v of document.querySelectorAll('[data-view]')) v.hidden = v.dataset.view !== view;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.route === view);
  if (view !== 'event') S.evToken++;  // drop any answer still on its way
  if (view === 'event' && changed) { window.scrollTo(0, 0); showEvent(id, false); }
  if (view === 'ranks' && changed) loadRanks();
}

function applyStatic() {
  document.documentElement.lang = S.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  for (const e of document.querySelectorAll('[data-i18n-title]')) e.title = t(e.dataset.i18nTitle);
  $('#lang-switch').textContent = t('lang_switch');
  setLive(!!(S.es && S.es.readyState === EventSource.OPEN));
}

function setLang(lang) {
  S.lang = lang;
  try { localStorage.setItem(LANG_KEY, lang); } catch (_) { /* private mode: not remembered */ }
  applyStatic();
  buildBoardTable();
  renderBoard();
  renderFeed();
  if (S.paths.size) { renderLegend(); updateMap(true); }
  renderGridEvents();
  fillModeRegions();
  renderWho();
  renderEvent();
  renderRanks();
}

function init() {
  try { if (localStorage.getItem(LANG_KEY) === 'en') S.lang = 'en'; } catch (_) { /* keep zh */ }
  applyStatic();
  buildBoardTable();
  renderBoard();
  renderFeed();
  renderGridEvents();
  initMapControls();
  const now = cityDate(Date.now());
  $('#ranks-month').value = `${now.getUTCFullYear()}-${pad(now.getUTCMonth() + 1)}`;
  $('#ranks-month').addEventListener('change', loadRanks);
  $('#ranks-of').addEventListener('change', loadRanks);
  $('#login-form').addEventListener('submit', onLogin);
  $('#logout').addEventListener('click', onLogout);
  $('#lang-switch').addEventListener('click', () => setLang(S.lang === 'zh' ? 'en' : 'zh'));
  $('#mode-form').addEventListener('submit', onModeSubmit);
  window.addEventListener('hashchange', route);
  api('/me').then((d) => start(d.principal), (e) => showLogin(e.status === 401 ? '' : e.message));
}

init();
