// The chat page: one WebSocket to the node that served it (or, when that
// one is gone, to another node of the cluster), protocol v1
// (docs/protocol.md). Everything the user holds (name, rooms, unsent
// messages) lives in `state` and localStorage, so a dropped connection or a
// reload loses nothing: we reconnect, resume each room from its last id and
// re-send unacked messages with their original client_id (the server dedups).
// Where the node serves protocol 1.1 "scrollback", scrolling to the top of a
// room asks for the messages before the oldest one shown (see loadOlder).

const NAME_RE = /^[A-Za-z0-9_.-]{1,32}$/;
const ROOM_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
const DM_RE = /^dm:([A-Za-z0-9_.-]{1,32}):([A-Za-z0-9_.-]{1,32})$/;
const isDm = (name) => DM_RE.test(name);
const validRoom = (name) => isDm(name) || (ROOM_RE.test(name) && !name.startsWith('dm:'));
// The conversation of two users: dm:A:B with A < B (byte order).
const dmRoom = (a, b) => (a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`);
// The other user of one of our DM rooms.
const dmPeer = (name) => { const [, a, b] = DM_RE.exec(name) || []; return a === state.user ? b : a; };
// A DM room of our own, in its one valid spelling.
const ownDm = (name) => { const [, a, b] = DM_RE.exec(name) || []; return !!a && a < b && (a === state.user || b === state.user); };
const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 10_000;
const TYPING_REPEAT_MS = 3_000;   // resend "start" at most this often
const TYPING_IDLE_MS = 4_000;     // send "stop" after this long without a key
const TYPING_SHOW_MS = 6_000;     // forget someone's "start" without a refresh
const READ_THROTTLE_MS = 1_000;
const ACK_TIMEOUT_MS = 10_000;    // no ack this long: the node is stuck, move on
const WELCOME_TIMEOUT_MS = 10_000; // no welcome this long after dialing: try again
const CLUSTER_REFRESH_MS = 30_000; // re-read the node list this often while connected
const MAX_KEPT = 500;             // messages kept per room in memory
const HISTORY_PAGE = 50;          // older messages asked for per scrollback request
const HISTORY_TIMEOUT_MS = 10_000; // no answer this long: forget the request, ask again later
const LOAD_OLDER_PX = 150;        // ask once the list is scrolled this close to its top
const PROFILE_REFRESH_MS = 300_000; // a profile shown is re-read this often (names change rarely)
const PROFILE_FETCHES = 4;         // profile reads in flight at once: a big room is read a few at a time
const STORE = { user: 'chat.user', rooms: 'chat.rooms', current: 'chat.current', nodes: 'chat.nodes' };
// Unsent messages belong to the user who wrote them.
const outboxKey = () => `chat.outbox.${state.user}`;

const state = {
  user: null,
  rooms: new Map(),   // name -> room (see newRoom), in the order shown
  dms: new Map(),     // DM room -> { room, user, unread, last }: the inbox (protocol 1.1)
  profiles: new Map(), // user -> { name, status, at (when read), loading }
  profileVersion: 0,  // bumped when a profile shown changes: rows are rebuilt
  current: null,      // the room shown
  ws: null,
  conn: 'disconnected', // connected | reconnecting | disconnected
  node: '',
  draining: false,    // from server_notice "draining" until the next welcome
  welcomed: false,    // a welcome was ever seen on this page
  attempt: 0,
  retryAt: 0,
  nodes: [],          // public URLs of the cluster's nodes, from /api/cluster
  dials: 0,           // connection attempts since the last welcome
  url: '',            // base URL of the node dialed last
  limits: { max_text_chars: 4000 },
  features: new Set(), // welcome.features of the current node ("scrollback", ...)
  older: null,        // the one scrollback request in flight: { room, before, timer }
  seq: 0,             // orders own pending messages among themselves
};
window.chatDebug = { state };

const $ = (sel) => document.querySelector(sel);
const byTestId = (id) => $(`[data-testid="${id}"]`);
const ui = {
  status: byTestId('status'), joinView: $('#join-view'), chatView: $('#chat-view'),
  joinForm: $('#join-form'), nameInput: byTestId('name-input'), nameHint: $('#name-hint'),
  me: $('#me'), meName: $('#me-name'), signOut: $('#sign-out'),
  roomList: byTestId('room-list'), roomForm: $('#room-form'), roomInput: byTestId('room-input'),
  roomHint: $('#room-hint'), roomTitle: $('#room-title'), messages: byTestId('message-list'),
  typing: byTestId('typing-indicator'), composer: $('#composer'), input: byTestId('message-input'),
  send: byTestId('send-button'), presence: byTestId('presence-list'), peopleCount: $('#people-count'),
  dmList: byTestId('dm-list'), dmTitle: $('#dm-title'), peopleHint: $('#people-hint'),
  profileForm: $('#profile-form'), profileName: byTestId('profile-name-input'),
  profileStatus: $('#profile-status-input'), profileSave: byTestId('profile-save'),
  toasts: $('#toasts'),
};

// ---------- rooms and messages ----------

function newRoom(name) {
  return {
    name, messages: [], seen: new Set(), members: new Set(), typing: new Map(),
    receipts: new Map(), unread: 0, subscribed: false, requested: false,
    draft: '', lastReadSent: null,
    // Scrollback: 'idle' (older messages may exist), 'loading', 'end' (the
    // node said there are none) or 'failed' (olderNote says why; we stop).
    older: 'idle', olderNote: '',
    keep: MAX_KEPT,   // acked messages kept; raised while scrolled back (see mergeMessages)
  };
}

// History order: ts, then id, both as plain strings (byte order for ASCII).
// Own messages still waiting for their ack have no id yet and go last.
function compareMessages(a, b) {
  if (!a.id || !b.id) return a.id ? -1 : b.id ? 1 : a.seq - b.seq;
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// Adds server messages the room has not seen (ids are the dedup key, so a
// repeated history or a scrollback page overlapping what we have adds
// nothing twice); returns how many of them came from other users (what
// counts as unread). `older`: a scrollback page, which is old talk: it
// clears nobody's typing and is never trimmed away at once.
function mergeMessages(room, incoming, { older = false } = {}) {
  let added = 0, fromOthers = 0;
  for (const m of incoming) {
    if (!m.id || room.seen.has(m.id)) continue;
    room.seen.add(m.id);
    room.messages.push({ id: m.id, ts: m.ts, user: m.user, text: m.text, state: null, el: null });
    if (!older) room.typing.delete(m.user);
    added++;
    if (m.user !== state.user) fromOthers++;
  }
  if (added) {
    room.messages.sort(compareMessages);
    // The pages the user scrolled back for stay while up to MAX_KEPT new
    // messages arrive after them (rows being read must not vanish);
    // leaving the room's view trims it back (selectRoom).
    if (older) room.keep = Math.max(room.keep, room.messages.filter((m) => m.id).length + MAX_KEPT);
    else trimOldest(room);
  }
  return { added, fromOthers };
}

// Drops the oldest acked messages beyond room.keep. They are forgotten as
// seen too, so scrolling back can load them again.
function trimOldest(room) {
  const acked = room.messages.filter((m) => m.id);
  if (acked.length <= room.keep) return;
  const drop = new Set(acked.slice(0, acked.length - room.keep));
  room.messages = room.messages.filter((m) => !drop.has(m));
  for (const m of drop) room.seen.delete(m.id);
  if (room.older === 'end') room.older = 'idle';   // the beginning is no longer loaded
}

function firstId(room) {
  for (const m of room.messages) if (m.id) return m.id;
  return null;
}

function lastId(room) {
  for (let i = room.messages.length - 1; i >= 0; i--) if (room.messages[i].id) return room.messages[i].id;
  return null;
}

function addRoom(name, { requested = false } = {}) {
  if (!state.rooms.has(name)) state.rooms.set(name, newRoom(name));
  const room = state.rooms.get(name);
  room.requested = room.requested || requested;
  return room;
}

function joinRoom(name) {
  const known = state.rooms.has(name);
  const room = addRoom(name, { requested: !known });
  if (!known && state.conn === 'connected') send({ type: 'subscribe', rooms: [name] });
  saveRooms();
  selectRoom(name);
  return room;
}

function leaveRoom(name) {
  if (!state.rooms.has(name)) return;
  stopTyping();
  state.rooms.delete(name);
  if (state.conn === 'connected') send({ type: 'unsubscribe', rooms: [name] });
  saveOutbox();
  saveRooms();
  if (state.current === name) selectRoom(state.rooms.keys().next().value ?? null);
  else renderRooms();
}

function selectRoom(name) {
  const prev = state.rooms.get(state.current);
  if (prev && prev.name !== name) {
    stopTyping();
    prev.draft = ui.input.value;
    // Scrollback starts afresh on the next visit, which opens at the bottom:
    // the pages scrolled back for are dropped, a failure may be retried.
    prev.keep = MAX_KEPT;
    trimOldest(prev);
    if (prev.older === 'failed') prev.older = 'idle';
  }
  state.current = name;
  const room = state.rooms.get(name);
  if (room) { room.unread = 0; if (prev !== room) ui.input.value = room.draft; }
  if (name) localStorage.setItem(STORE.current, name);
  renderAll();
  scrollToBottom();
  maybeSendRead();
}

// ---------- own messages: optimistic, retried until acked ----------

function clientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function pending(room) {
  return room.messages.filter((m) => m.state === 'sending' || m.state === 'failed');
}

function queueMessage(roomName, text, cid = clientId()) {
  const room = state.rooms.get(roomName);
  const msg = { id: null, ts: null, user: state.user, text, clientId: cid, state: 'sending',
                seq: ++state.seq, inFlight: false, sentAt: 0, el: null };
  room.messages.push(msg);
  return msg;
}

function sendMessage() {
  const room = state.rooms.get(state.current);
  const text = ui.input.value.replace(/\s+$/, '');
  if (!room || !text.trim()) return;
  const max = state.limits.max_text_chars;
  if ([...text].length > max) { toast(`Message too long: ${[...text].length} of at most ${max} characters.`); return; }
  stopTyping();
  queueMessage(room.name, text);
  ui.input.value = '';
  room.draft = '';
  saveOutbox();
  autosize();
  renderComposer();
  renderMessages();
  scrollToBottom();
  flushOutbox();
}

// The server drops publishes over its token bucket (rate_per_s, burst, full
// at connect). We keep a slightly slower copy of that bucket and hold back
// what would overflow it, so a burst goes out in the order it was written
// instead of coming back as rate_limited and retried out of order.
const bucket = { tokens: 0, at: 0, timer: null };

function takeToken() {
  const { rate_per_s: rate = 20, burst = 40 } = state.limits;
  const now = Date.now();
  bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate * 0.9);
  bucket.at = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

// Sends what is pending in subscribed rooms, oldest first, once per connection.
function flushOutbox() {
  clearTimeout(bucket.timer);
  if (state.conn !== 'connected') return;
  const waiting = [...state.rooms.values()].filter((r) => r.subscribed)
    .flatMap((r) => pending(r).filter((m) => !m.inFlight && m.state === 'sending').map((m) => [r, m]))
    .sort((x, y) => x[1].seq - y[1].seq);
  for (const [room, m] of waiting) {
    if (!takeToken()) { bucket.timer = setTimeout(flushOutbox, 1000 / (state.limits.rate_per_s || 20)); return; }
    m.inFlight = true;
    m.sentAt = Date.now();
    send({ type: 'message', room: room.name, text: m.text, client_id: m.clientId });
  }
}

function findPending(cid) {
  for (const room of state.rooms.values()) {
    const m = room.messages.find((x) => x.clientId === cid && !x.id);
    if (m) return { room, m };
  }
  return null;
}

function onAck(f) {
  const hit = findPending(f.client_id);
  if (!hit) return;
  const { room, m } = hit;
  if (room.seen.has(f.id)) {
    // A resumed history already brought this message (the first try got
    // through, its ack was lost): keep that copy, drop the optimistic one.
    room.messages = room.messages.filter((x) => x !== m);
    const copy = room.messages.find((x) => x.id === f.id);
    if (copy) { copy.state = 'sent'; copy.el = null; }
  } else {
    Object.assign(m, { id: f.id, ts: f.ts, state: 'sent', inFlight: false });
    room.seen.add(f.id);
    room.messages.sort(compareMessages);
  }
  saveOutbox();
  if (room.name === state.current) { renderMessages(); maybeSendRead(); }
}

// A refused publish: transient refusals are retried with the same client_id,
// the rest stay on screen as failed so the text is not silently lost.
function onPublishError(f, hit) {
  const { room, m } = hit;
  m.inFlight = false;
  if (f.code === 'not_subscribed') {
    // The node lost our subscription: take it again; its history flushes.
    room.subscribed = false;
    const id = lastId(room);
    send({ type: 'subscribe', rooms: [room.name], ...(id ? { since: { [room.name]: id } } : {}) });
  } else if (f.code === 'rate_limited' || f.code === 'internal') {
    setTimeout(flushOutbox, 1000 + Math.random() * 1000);
  } else {
    m.state = 'failed';
    saveOutbox();
    if (room.name === state.current) renderMessages();
  }
}

// ---------- connection ----------

// Where to dial: the page's own host first, since a load balancer there
// knows better than our list which nodes live; when that fails, the other
// nodes we learned, in turn, so a page loaded straight from a node that died
// still finds the rest of the cluster.
function nextTarget() {
  const targets = [location.origin, ...state.nodes.filter((u) => u !== location.origin)];
  return targets[state.dials++ % targets.length];
}

function connect() {
  clearTimeout(state.retryTimer);
  // The first connection of a page names its rooms in the URL; later ones
  // connect with none and subscribe with `since`, so resume is exact.
  const urlRooms = state.welcomed || state.attempt > 0 ? [] : [...state.rooms.keys()];
  const params = new URLSearchParams(location.search);
  state.url = nextTarget();
  let url = `${state.url.replace(/^http/, 'ws')}/ws?user=${encodeURIComponent(state.user)}&rooms=${urlRooms.join(',')}`;
  if (params.get('token')) url += `&token=${encodeURIComponent(params.get('token'))}`;

  const ws = new WebSocket(url);
  state.ws = ws;
  ws.onmessage = (ev) => { if (state.ws === ws) onFrame(ev.data, urlRooms); };
  ws.onclose = () => { if (state.ws === ws) onClosed(); };
  // A node that accepts TCP but never answers (frozen) would hang us here.
  setTimeout(() => { if (state.ws === ws && state.conn !== 'connected') dropConnection(); }, WELCOME_TIMEOUT_MS);
}

// Gives up on the current socket now: a stuck peer may never finish the
// close handshake, and we must not wait for it to reconnect.
function dropConnection(reason = 'client gave up', code = 4000) {
  const ws = state.ws;
  if (!ws) return;
  state.ws = null;
  ws.close(code, reason);
  onClosed();
}

function onClosed() {
  state.ws = null;
  // A scrollback request dies with its socket, and the next node may hold
  // more or less history: every room may ask again.
  if (state.older) clearTimeout(state.older.timer);
  state.older = null;
  for (const room of state.rooms.values()) {
    room.subscribed = false;
    room.typing.clear();
    for (const m of room.messages) m.inFlight = false;
    room.older = 'idle';
    room.olderNote = '';
  }
  renderHistoryRow();
  clearTimeout(typingState.idleTimer);
  typingState.room = null;
  if (!state.user) { setConn('disconnected'); return; }
  scheduleReconnect();
}

// Exponential backoff with full jitter: a restarted node is not hit by
// every client at the same instant.
function scheduleReconnect() {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** state.attempt);
  const delay = Math.random() * cap;
  state.attempt++;
  state.retryAt = Date.now() + delay;
  state.retryTimer = setTimeout(connect, delay);
  setConn('reconnecting');
}

function send(obj) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(obj));
}

function onWelcome(f, urlRooms) {
  state.node = String(f.node ?? '');
  state.limits = { ...state.limits, ...(f.limits || {}) };
  state.features = new Set(Array.isArray(f.features) ? f.features : []);
  state.welcomed = true;
  state.attempt = 0;
  state.dials = 0;
  state.draining = false;
  learnNodes();
  Object.assign(bucket, { tokens: state.limits.burst ?? 40, at: Date.now() });
  setConn('connected');
  renderMessages();   // the history row comes or goes with this node's features
  const rest = [...state.rooms.keys()].filter((r) => !urlRooms.includes(r));
  if (!rest.length) return;
  const since = {};
  for (const r of rest) { const id = lastId(state.rooms.get(r)); if (id) since[r] = id; }
  send({ type: 'subscribe', rooms: rest, since });
}

// The origin of a node URL we may dial, or null: http(s) only, and never
// from an https page to plain http.
function nodeOrigin(u) {
  if (typeof u !== 'string') return null;
  try {
    const url = new URL(u);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
    if (location.protocol === 'https:' && url.protocol !== 'https:') return null;
    return url.origin;
  } catch { return null; }
}

// Failures are ignored: the list is only a hint, and the last one read is
// still the best we have. A node lists a peer's URL only when its
// --allowed-origins admits it (a peer's URL is the peer's word), so the page
// fails over only to nodes its own cluster vouches for.
async function learnNodes() {
  try {
    const res = await fetch(`${state.url}/api/cluster`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return;
    const info = await res.json();
    // This node last: when it is the one that died, try the others first.
    const urls = [...(info.peers || []).map((p) => p.url), info.url].map(nodeOrigin).filter(Boolean);
    if (!urls.length) return;
    state.nodes = [...new Set(urls)];
    sessionStorage.setItem(STORE.nodes, JSON.stringify(state.nodes));
  } catch { /* keep the old list */ }
}
setInterval(() => { if (state.conn === 'connected') learnNodes(); }, CLUSTER_REFRESH_MS);

function onFrame(data, urlRooms) {
  let f;
  try { f = JSON.parse(data); } catch { return; }
  const room = f.room !== undefined ? state.rooms.get(f.room) : null;
  switch (f.type) {
    case 'welcome': onWelcome(f, urlRooms); break;
    case 'subscribed':
      if (!room) break;
      room.subscribed = true;
      room.requested = false;
      room.members = new Set(f.members || []);
      renderRooms();
      if (room.name === state.current) renderPresence();
      break;
    case 'history': {
      // A scrollback answer echoes `before`; the window sent after
      // `subscribed` has none.
      if (f.before !== undefined) { onOlderHistory(f); break; }
      if (!room) break;
      const resumed = room.seen.size > 0;   // a first history is not "unread"
      const { added, fromOthers } = mergeMessages(room, f.messages || []);
      if (resumed && room.name !== state.current) room.unread += fromOthers;
      flushOutbox();
      if (added) refreshRoom(room);
      // Subscribed now: a user already at the top may get older messages.
      if (room.name === state.current) checkOlderSoon();
      break;
    }
    case 'message':
      if (!room || !mergeMessages(room, [f]).added) break;
      if (f.user !== state.user && (room.name !== state.current || document.hidden)) room.unread++;
      refreshRoom(room);
      break;
    case 'ack': onAck(f); break;
    case 'presence':
      if (!room) break;
      if (f.state === 'join') {
        room.members.add(f.user);
        const p = state.profiles.get(f.user);
        if (p && !p.loading) p.at = 0; // someone back may have a new name: read it again
      } else { room.members.delete(f.user); room.typing.delete(f.user); }
      if (room.name === state.current) { renderPresence(); renderTyping(); }
      break;
    case 'typing': onTyping(room, f); break;
    case 'read_receipt':
      if (!room || f.user === state.user) break;
      room.receipts.set(f.user, f.id);
      if (room.name === state.current) renderMessages();
      break;
    case 'error': onError(f); break;
    case 'server_notice': onNotice(f); break;
    case 'inbox':
      state.dms.clear();
      for (const c of f.conversations || []) onConversation(c);
      renderDms();
      break;
    case 'inbox_update': onConversation(f.conversation); renderDms(); break;
    default: break;   // unsubscribed, pong and newer types need nothing
  }
}

function refreshRoom(room) {
  renderRooms();
  if (room.name !== state.current) return;
  renderMessages();
  renderTyping();
  maybeSendRead();
}

function onError(f) {
  if (f.ref === 'history') { onOlderError(f); return; }
  const hit = f.ref ? findPending(f.ref) : null;
  if (hit) onPublishError(f, hit);
  if (f.ref === 'subscribe') {
    // The whole subscribe was refused: drop the rooms the user just asked for.
    for (const room of [...state.rooms.values()]) if (room.requested && !room.subscribed) state.rooms.delete(room.name);
    for (const dm of [...state.dms.values()]) if (!dm.last && !state.rooms.has(dm.room)) state.dms.delete(dm.room);
    renderDms();
    saveRooms();
    saveOutbox();
    if (!state.rooms.has(state.current)) selectRoom(state.rooms.keys().next().value ?? null);
    else renderRooms();
  }
  toast(`${f.code || 'error'}: ${f.message || 'request refused'}`);
}

// Draining: the node is about to stop. Leave on our own (spread over a
// moment so the whole node's clients do not reconnect at once).
function onNotice(f) {
  if (f.code === 'draining') {
    state.draining = true;
    renderStatus();
    const ws = state.ws;
    setTimeout(() => { if (state.ws === ws) dropConnection('draining', 1000); }, Math.random() * 500);
  } else if (f.message) {
    toast(f.message);
  }
}

// A node that stopped answering keeps the socket open: an ack this late
// means we should move on (the retry carries the same client_id).
setInterval(() => {
  if (state.conn !== 'connected' || !state.ws) return;
  const late = [...state.rooms.values()].some((r) => r.messages.some((m) => m.inFlight && Date.now() - m.sentAt > ACK_TIMEOUT_MS));
  if (late) dropConnection('ack timeout');
}, 2000);

// ---------- scrollback: older messages on demand (protocol 1.1) ----------

// Asks for the page of messages before the oldest one shown, when the user
// has the top of the room in view. One request at a time per connection:
// an error frame names no room, so with one in flight it is always clear
// whose it is; a room switched to meanwhile asks once the answer is in.
function loadOlder() {
  const room = state.rooms.get(state.current);
  if (!room || room.older !== 'idle' || state.older) return;
  if (!state.features.has('scrollback') || state.conn !== 'connected' || !room.subscribed) return;
  const before = firstId(room);
  if (!before || ui.messages.scrollTop > LOAD_OLDER_PX) return;
  send({ type: 'history', room: room.name, before, limit: HISTORY_PAGE });
  room.older = 'loading';
  const req = { room: room.name, before };
  // A node that never answers must not leave the room "loading" for good.
  req.timer = setTimeout(() => {
    if (state.older !== req) return;
    state.older = null;
    if (room.older === 'loading') room.older = 'idle';
    renderHistoryRow();
    checkOlderSoon();
  }, HISTORY_TIMEOUT_MS);
  state.older = req;
  renderHistoryRow();
}

// Checks after the current task, once the caller has put the scroll where
// it belongs (selectRoom scrolls to the bottom after rendering).
let olderCheckQueued = false;
function checkOlderSoon() {
  if (olderCheckQueued) return;
  olderCheckQueued = true;
  queueMicrotask(() => { olderCheckQueued = false; loadOlder(); });
}

function onOlderHistory(f) {
  const req = state.older;
  const ours = !!req && req.room === f.room && req.before === f.before;
  if (ours) { clearTimeout(req.timer); state.older = null; }
  const room = state.rooms.get(f.room);
  if (room && Array.isArray(f.messages)) {
    // A late answer to a request we gave up on is still history: keep it.
    const oldest = firstId(room);
    mergeMessages(room, f.messages, { older: true });
    if (ours && room.older === 'loading') {
      if (f.more === false) room.older = 'end';
      else if (firstId(room) === oldest) {
        // "More" but nothing older: asking again would get the same.
        room.older = 'failed';
        room.olderNote = 'No older messages could be loaded.';
      } else room.older = 'idle';
    }
    if (room.name === state.current) renderMessages({ prepended: true });
  }
  checkOlderSoon();
}

// The request was refused. rate_limited: over the node's history budget,
// which only a burst of requests meets; ask again in a moment (the slot
// stays taken meanwhile, so nothing else is asked either). not_found: this
// node does not hold the message we asked before (it keeps less history
// than the node that gave it to us); that and the rest would be answered
// the same again on this connection, so we stop until the next connection
// or visit to the room.
function onOlderError(f) {
  const req = state.older;
  if (!req) return;   // an error for a request we already gave up on
  clearTimeout(req.timer);
  if (f.code === 'rate_limited') {
    req.timer = setTimeout(() => {
      if (state.older !== req) return;
      state.older = null;
      const room = state.rooms.get(req.room);
      if (room?.older === 'loading') room.older = 'idle';
      checkOlderSoon();
    }, 1000 + Math.random() * 1000);
    return;
  }
  state.older = null;
  const room = state.rooms.get(req.room);
  if (room && room.older === 'loading') {
    room.older = 'failed';
    room.olderNote = f.code === 'not_found' ? 'Older messages are not available on this server.'
      : `Older messages could not be loaded (${f.code || 'error'}).`;
  }
  renderHistoryRow();
  checkOlderSoon();
}

// ---------- typing and read receipts ----------

const typingState = { room: null, lastStart: 0, idleTimer: null };

function onUserTyping() {
  if (!ui.input.value.trim()) { stopTyping(); return; }
  const room = state.current;
  if (!state.rooms.get(room)?.subscribed || state.conn !== 'connected') return;
  const now = Date.now();
  if (typingState.room !== room || now - typingState.lastStart >= TYPING_REPEAT_MS) {
    send({ type: 'typing', room, state: 'start' });
    typingState.room = room;
    typingState.lastStart = now;
  }
  clearTimeout(typingState.idleTimer);
  typingState.idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping() {
  clearTimeout(typingState.idleTimer);
  if (state.rooms.get(typingState.room)?.subscribed) send({ type: 'typing', room: typingState.room, state: 'stop' });
  typingState.room = null;
  typingState.lastStart = 0;
}

function onTyping(room, f) {
  if (!room || f.user === state.user) return;
  clearTimeout(room.typing.get(f.user));
  if (f.state === 'start') room.typing.set(f.user, setTimeout(() => { room.typing.delete(f.user); renderTyping(); }, TYPING_SHOW_MS));
  else room.typing.delete(f.user);
  if (room.name === state.current) renderTyping();
}

// Tells the room how far we have read; only while the page is really seen.
let readTimer = null;
function maybeSendRead() {
  if (readTimer) return;
  readTimer = setTimeout(() => {
    readTimer = null;
    const room = state.rooms.get(state.current);
    if (!room || !room.subscribed || document.visibilityState !== 'visible') return;
    const id = lastId(room);
    if (id && id !== room.lastReadSent) { room.lastReadSent = id; send({ type: 'read', room: room.name, id }); }
  }, READ_THROTTLE_MS);
}

// ---------- direct messages (protocol 1.1) ----------

// The node's word on a conversation: its unread count is the cluster's (it
// follows reads made in other tabs and on other nodes).
function onConversation(c) {
  if (!c || typeof c.room !== 'string' || !isDm(c.room)) return;
  state.dms.set(c.room, { room: c.room, user: String(c.user ?? dmPeer(c.room)), unread: Number(c.unread) || 0, last: c.last || null });
  // Reading it now: tell the node, which clears the count everywhere.
  if (c.unread > 0 && c.room === state.current) maybeSendRead();
}

// Opens the conversation with `user` (from the presence list); it shows in
// the list at once, and exists for both once the first message is sent.
function openDm(user) {
  if (!user || user === state.user) return;
  const name = dmRoom(state.user, user);
  if (!state.dms.has(name)) state.dms.set(name, { room: name, user, unread: 0, last: null });
  joinRoom(name);
}

function dmElement(dm) {
  const unread = el('span', { 'data-testid': 'dm-unread', class: 'unread', hidden: '' });
  const select = el('button', { type: 'button', class: 'room-select', onclick: () => joinRoom(dm.room) },
    el('span', { class: 'avatar', 'aria-hidden': 'true', style: `--hue:${hue(dm.user)}`, text: dm.user.slice(0, 1).toUpperCase() }),
    el('span', { class: 'room-name', text: displayName(dm.user) }), unread);
  return Object.assign(el('li', { 'data-testid': 'dm-item', 'data-room': dm.room, 'data-user': dm.user, class: 'room dm' }, select), { select, unread });
}

// Newest activity first; conversations without a message yet (just opened) on top.
function renderDms() {
  const dms = [...state.dms.values()].sort((a, b) => {
    const x = a.last?.id ?? '\uffff', y = b.last?.id ?? '\uffff';
    return x > y ? -1 : x < y ? 1 : a.room < b.room ? -1 : 1;
  });
  const items = dms.map((dm) => {
    dm.el ??= dmElement(dm);
    dm.el.select.querySelector('.room-name').textContent = displayName(dm.user);
    return markEntry(dm.el, dm.room === state.current, dm.unread);
  });
  syncChildren(ui.dmList, items);
  ui.dmTitle.hidden = items.length === 0;
  renderTitle();
}

// ---------- profiles (HTTP: /api/users/USER/profile) ----------

function profileUrl(user) {
  const token = new URLSearchParams(location.search).get('token');
  return `${location.origin}/api/users/${encodeURIComponent(user)}/profile${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

// The name to show for `user`: their display name once read, else the
// user name. A read is queued here, at most every PROFILE_REFRESH_MS.
const profileQueue = { waiting: [], running: 0 };
function displayName(user) {
  let p = state.profiles.get(user);
  if (!p) { p = { name: '', status: '', at: 0, loading: false }; state.profiles.set(user, p); }
  if (!p.loading && Date.now() - p.at > PROFILE_REFRESH_MS) {
    p.loading = true;
    profileQueue.waiting.push(user);
    pumpProfiles();
  }
  return p.name || user;
}

function pumpProfiles() {
  while (profileQueue.running < PROFILE_FETCHES && profileQueue.waiting.length) {
    const user = profileQueue.waiting.shift();
    profileQueue.running++;
    loadProfile(user).finally(() => { profileQueue.running--; pumpProfiles(); });
  }
}

function statusOf(user) {
  return state.profiles.get(user)?.status || '';
}

async function loadProfile(user) {
  try {
    const res = await fetch(profileUrl(user), { signal: AbortSignal.timeout(5000) });
    if (res.ok) profileRead(user, await res.json());
  } catch { /* shown by user name meanwhile */ }
  const p = state.profiles.get(user);
  if (p) { p.loading = false; p.at = Date.now(); }
}

function profileRead(user, body) {
  const p = state.profiles.get(user) ?? { loading: false };
  const name = typeof body.name === 'string' ? body.name : '';
  const status = typeof body.status === 'string' ? body.status : '';
  const changed = p.name !== name || p.status !== status;
  state.profiles.set(user, { ...p, name, status, at: Date.now() });
  if (user === state.user && document.activeElement !== ui.profileName && document.activeElement !== ui.profileStatus) {
    ui.profileName.value = name;
    ui.profileStatus.value = status;
  }
  if (!changed) return;
  state.profileVersion++;
  renderDms();
  renderMessages();
  renderPresence();
}

async function saveProfile() {
  ui.profileSave.disabled = true;
  try {
    const res = await fetch(profileUrl(state.user), {
      method: 'PUT', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: ui.profileName.value.trim(), status: ui.profileStatus.value.trim() }),
      signal: AbortSignal.timeout(5000),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) { toast(`${body.error || res.status}: ${body.message || 'profile not saved'}`); return; }
    profileRead(state.user, body);
    toast('Profile saved');
  } catch {
    toast('Profile not saved: the node did not answer');
  } finally {
    ui.profileSave.disabled = false;
  }
}

// ---------- rendering (user text only ever via textContent) ----------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') node.textContent = v;
    else if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

function renderAll() {
  renderRooms();
  renderDms();
  renderMessages();
  renderPresence();
  renderTyping();
  renderComposer();
}

// Room entries are built once and updated in place, so an incoming message
// does not steal keyboard focus from the room list.
function roomElement(room) {
  const unread = el('span', { 'data-testid': 'unread', class: 'unread', hidden: '' });
  const select = el('button', { type: 'button', class: 'room-select', onclick: () => selectRoom(room.name) },
    el('span', { class: 'room-name', text: room.name }), unread);
  const leave = el('button', { type: 'button', 'data-testid': 'room-leave', class: 'room-leave',
    'aria-label': `Leave ${room.name}`, title: `Leave ${room.name}`, text: '×', onclick: () => leaveRoom(room.name) });
  return Object.assign(el('li', { 'data-testid': 'room-item', 'data-room': room.name, class: 'room' }, select, leave), { select, unread });
}

// A room's or a conversation's entry: selected or not, and its unread badge.
function markEntry(item, selected, unread) {
  item.classList.toggle('selected', selected);
  item.select.setAttribute('aria-current', selected ? 'true' : 'false');
  item.unread.textContent = String(unread);
  item.unread.setAttribute('aria-label', `${unread} unread`);
  item.unread.hidden = unread === 0;
  return item;
}

function renderRooms() {
  const items = [...state.rooms.values()].filter((room) => !isDm(room.name)).map((room) => {
    room.el ??= roomElement(room);
    room.el.classList.toggle('pending', !room.subscribed);
    return markEntry(room.el, room.name === state.current, room.unread);
  });
  syncChildren(ui.roomList, items);
  renderTitle();
}

function renderTitle() {
  const rooms = [...state.rooms.values()].filter((r) => !isDm(r.name)).reduce((n, r) => n + r.unread, 0);
  const unread = rooms + [...state.dms.values()].reduce((n, d) => n + d.unread, 0);
  document.title = unread ? `(${unread}) Chat` : 'Chat';
}

// Makes parent's children exactly `nodes`, moving only what is out of place
// (keeps focus and text selection in rows that did not change).
function syncChildren(parent, nodes) {
  let cur = parent.firstChild;
  for (const n of nodes) {
    if (n === cur) cur = cur.nextSibling;
    else parent.insertBefore(n, cur);
  }
  while (cur) { const next = cur.nextSibling; cur.remove(); cur = next; }
}

// RFC 3339 with microseconds; cut to milliseconds, which every engine parses.
const parseTs = (ts) => new Date(ts.replace(/(\.\d{3})\d+/, '$1'));

function formatTime(ts) {
  const d = parseTs(ts);
  if (Number.isNaN(d.getTime())) return { short: '', full: ts };
  const sameDay = d.toDateString() === new Date().toDateString();
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return { short: sameDay ? time : `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`, full: d.toLocaleString() };
}

function messageElement(m) {
  const own = m.user === state.user;
  const stateText = { sending: 'sending…', sent: '✓', failed: 'not sent' }[m.state] || '';
  const time = m.ts ? formatTime(m.ts) : null;
  const row = el('li', { 'data-testid': 'message', 'data-user': m.user, class: `message${own ? ' own' : ''}` },
    el('div', { class: 'meta' },
      el('span', { class: 'avatar', 'aria-hidden': 'true', style: `--hue:${hue(m.user)}`, text: m.user.slice(0, 1).toUpperCase() }),
      el('span', { class: 'user', title: m.user, text: displayName(m.user) }),
      time ? el('time', { datetime: m.ts, title: time.full, text: time.short }) : '',
      stateText ? el('span', { class: `delivery ${m.state}`, title: m.state, text: stateText }) : ''),
    el('div', { class: 'text', text: m.text }),
    el('div', { class: 'receipts' }));
  if (m.id) row.dataset.id = m.id;
  if (own) row.dataset.state = m.state === 'failed' ? 'failed' : m.id ? 'sent' : 'sending';
  if (m.state === 'failed') {
    row.querySelector('.meta').append(el('button', { type: 'button', class: 'link-button', text: 'discard', onclick: () => discard(m) }));
  }
  return row;
}

function discard(m) {
  const room = state.rooms.get(state.current);
  if (!room) return;
  room.messages = room.messages.filter((x) => x !== m);
  saveOutbox();
  renderMessages();
}

// The top row of a room's list while the node serves scrollback: what
// loading older messages is doing. One element, showing the current room;
// its text changes but never its height, so it moves no message.
const historyRow = el('li', { 'data-testid': 'history-status', class: 'history-status' });
const HISTORY_TEXT = {
  idle: 'Scroll up for older messages',
  loading: 'Loading older messages…',
  end: 'Beginning of history',
};

function renderHistoryRow() {
  const room = state.rooms.get(state.current);
  if (!room) return;
  const text = room.older === 'failed' ? room.olderNote : HISTORY_TEXT[room.older];
  historyRow.textContent = text;
  historyRow.title = text;
  historyRow.dataset.state = room.older;
}

// The first message row at least partly in view, and where it is, so a
// render can leave it there.
function topVisibleMessage() {
  const top = ui.messages.getBoundingClientRect().top;
  for (const row of ui.messages.children) {
    if (!row.msg) continue;
    const r = row.getBoundingClientRect();
    if (r.bottom > top) return { m: row.msg, offset: r.top - top };
  }
  return null;
}

function keepInPlace(anchor) {
  const row = anchor?.m.el;
  if (!row?.isConnected) return;
  const offset = row.getBoundingClientRect().top - ui.messages.getBoundingClientRect().top;
  ui.messages.scrollTop += offset - anchor.offset;
}

// `prepended`: older messages came in above what the user reads.
function renderMessages({ prepended = false } = {}) {
  const room = state.rooms.get(state.current);
  const l = ui.messages;
  // A user at the bottom stays there, to see what comes in; one scrolled
  // up stays on the message they were looking at, whatever is added or
  // grows above it (the list has overflow-anchor: none, we do it here).
  // After a scrollback page only a list that did not scroll yet stays at
  // the bottom: there the user was reading the newest messages.
  const stick = prepended ? l.scrollHeight <= l.clientHeight + 1 : isNearBottom();
  const anchor = stick ? null : topVisibleMessage();
  if (!room) { ui.messages.replaceChildren(el('li', { class: 'empty', text: 'Join a room to start chatting.' })); return; }
  if (!room.messages.length) { ui.messages.replaceChildren(el('li', { class: 'empty', text: 'No messages yet. Say hi!' })); return; }
  // Rows are rebuilt only when their content changed (state, id, ts).
  const rows = room.messages.map((m) => {
    const key = `${m.id}|${m.state}|${m.ts}|${state.profileVersion}`;
    if (!m.el || m.elKey !== key) { m.el = messageElement(m); m.elKey = key; m.el.msg = m; }
    return m.el;
  });
  // "seen by" sits under the last message each reader has read.
  const readers = new Map();
  for (const [user, id] of room.receipts) if (room.seen.has(id)) readers.set(id, [...(readers.get(id) || []), user]);
  room.messages.forEach((m, i) => {
    const users = m.id ? readers.get(m.id) : null;
    m.el.lastChild.textContent = users ? `seen by ${users.sort().join(', ')}` : '';
    // A run of messages from one person (minutes apart at most) shows their name once.
    const prev = room.messages[i - 1];
    const close = prev && (!m.ts || !prev.ts || parseTs(m.ts) - parseTs(prev.ts) < 5 * 60_000);
    m.el.classList.toggle('cont', !!close && prev.user === m.user && !prev.el.lastChild.textContent);
  });
  const top = state.features.has('scrollback') && firstId(room) ? [historyRow] : [];
  renderHistoryRow();
  syncChildren(ui.messages, [...top, ...rows]);
  if (stick) scrollToBottom();
  else keepInPlace(anchor);
  checkOlderSoon();
}

function renderPresence() {
  const room = state.rooms.get(state.current);
  const members = room ? [...room.members].sort((a, b) => (a === state.user ? -1 : b === state.user ? 1 : a < b ? -1 : a > b ? 1 : 0)) : [];
  ui.presence.replaceChildren(...members.map((user) =>
    el('li', { 'data-testid': 'presence-item', 'data-user': user, class: 'person' },
      // Anyone else is a button: it opens the conversation with them.
      user === state.user || isDm(room.name)
        ? el('span', { class: 'person-name', title: statusOf(user) }, avatar(user), personLabel(user))
        : el('button', { type: 'button', class: 'person-name link-button', title: `Write to ${user}`, onclick: () => openDm(user) },
          avatar(user), personLabel(user)))));
  ui.peopleCount.textContent = room ? `(${members.length})` : '';
  ui.peopleHint.hidden = !room || isDm(room.name) || members.length < 2;
}

// Display name (and "(you)"), then the status in small type.
function personLabel(user) {
  const name = displayName(user) + (user === state.user ? ' (you)' : '');
  const status = statusOf(user);
  return el('span', { class: 'person-label' }, el('span', { text: name }),
    status ? el('small', { class: 'person-status', text: status }) : '');
}

function avatar(user) {
  return el('span', { class: 'avatar', 'aria-hidden': 'true', style: `--hue:${hue(user)}`, text: user.slice(0, 1).toUpperCase() });
}

function renderTyping() {
  const room = state.rooms.get(state.current);
  const users = room ? [...room.typing.keys()].sort() : [];
  ui.typing.textContent = !users.length ? ''
    : users.length === 1 ? `${users[0]} is typing…`
    : users.length <= 3 ? `${users.slice(0, -1).join(', ')} and ${users.at(-1)} are typing…`
    : `${users.length} people are typing…`;
}

function renderComposer() {
  const room = state.rooms.get(state.current);
  ui.roomTitle.textContent = !room ? 'No room' : isDm(room.name) ? `@ ${displayName(dmPeer(room.name))}` : `# ${room.name}`;
  ui.input.disabled = !room;
  ui.send.disabled = !room || !ui.input.value.trim();
}

function renderStatus() {
  let s = state.conn, text;
  if (state.draining && s !== 'disconnected' && state.attempt < 3) {
    s = 'draining';
    text = 'draining — moving to another node…';
  } else if (s === 'connected') {
    text = `connected to node ${state.node}`;
  } else if (s === 'reconnecting' && !state.welcomed && state.attempt === 0) {
    text = 'connecting…';
  } else if (s === 'reconnecting') {
    const secs = Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
    text = secs > 0 ? `reconnecting… next attempt in ${secs} s (attempt ${state.attempt})` : `reconnecting… (attempt ${state.attempt})`;
  } else {
    text = 'not connected';
  }
  ui.status.textContent = text;
  ui.status.dataset.state = s;
  ui.status.dataset.node = s === 'connected' ? state.node : '';
}

function setConn(conn) {
  state.conn = conn;
  ui.chatView.classList.toggle('offline', conn !== 'connected');
  renderStatus();
  renderRooms();
}
setInterval(() => { if (state.conn === 'reconnecting') renderStatus(); }, 500);

function hue(name) {
  let h = 0;
  for (const c of name) h = (h * 31 + c.codePointAt(0)) % 360;
  return h;
}

function isNearBottom() {
  const l = ui.messages;
  return l.scrollHeight - l.scrollTop - l.clientHeight < 60;
}

function scrollToBottom() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

let lastToast = { text: '', at: 0 };
function toast(text) {
  // A burst of identical errors (a retried outbox hitting the rate limit)
  // shows once.
  if (text === lastToast.text && Date.now() - lastToast.at < 3000) return;
  lastToast = { text, at: Date.now() };
  const t = el('div', { class: 'toast', role: 'alert', text });
  ui.toasts.append(t);
  setTimeout(() => t.classList.add('leaving'), 4000);
  setTimeout(() => t.remove(), 4500);
}

function autosize() {
  ui.input.style.height = 'auto';
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, 160)}px`;
}

// ---------- persistence ----------

function saveRooms() {
  localStorage.setItem(STORE.rooms, JSON.stringify([...state.rooms.keys()]));
}

function saveOutbox() {
  const out = [];
  for (const room of state.rooms.values()) {
    for (const m of pending(room)) out.push({ room: room.name, text: m.text, client_id: m.clientId, failed: m.state === 'failed' });
  }
  localStorage.setItem(outboxKey(), JSON.stringify(out));
}

function loadJson(key, fallback) {
  try { return JSON.parse(localStorage.getItem(key)) ?? fallback; } catch { return fallback; }
}

// ---------- start ----------

function start(user) {
  state.user = user;
  localStorage.setItem(STORE.user, user);
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORE.nodes));
    if (Array.isArray(saved)) state.nodes = saved.map(nodeOrigin).filter(Boolean);
  } catch { /* nothing saved */ }
  const rooms = loadJson(STORE.rooms, ['lobby']).filter((r) => typeof r === 'string' && validRoom(r) && (!isDm(r) || ownDm(r)));
  for (const r of rooms) addRoom(r);
  for (const o of loadJson(outboxKey(), [])) {
    if (!state.rooms.has(o.room) || typeof o.text !== 'string') continue;
    const m = queueMessage(o.room, o.text, o.client_id);
    if (o.failed) m.state = 'failed';
  }
  const current = localStorage.getItem(STORE.current);
  state.current = state.rooms.has(current) ? current : (state.rooms.keys().next().value ?? null);
  ui.joinView.hidden = true;
  ui.chatView.hidden = false;
  ui.me.hidden = false;
  ui.meName.textContent = user;
  displayName(user); // fills the profile form once read
  selectRoom(state.current);
  connect();
  setConn('reconnecting');
  ui.input.focus();
}

function signOut() {
  stopTyping();
  localStorage.removeItem(STORE.user);
  state.user = null;
  clearTimeout(state.retryTimer);
  if (state.ws) state.ws.close(1000, 'sign out');
  state.ws = null;
  state.rooms.clear();
  state.dms.clear();
  state.profiles.clear();
  ui.profileName.value = '';
  ui.profileStatus.value = '';
  state.current = null;
  state.welcomed = false;
  state.attempt = 0;
  state.dials = 0;
  state.draining = false;
  setConn('disconnected');
  ui.chatView.hidden = true;
  ui.me.hidden = true;
  ui.joinView.hidden = false;
  ui.nameInput.focus();
}

function showHint(hint, input, bad) {
  hint.hidden = false;
  hint.classList.toggle('error', bad);
  input.setAttribute('aria-invalid', bad ? 'true' : 'false');
}

ui.joinForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const name = ui.nameInput.value.trim();
  if (!NAME_RE.test(name)) { showHint(ui.nameHint, ui.nameInput, true); ui.nameInput.focus(); return; }
  showHint(ui.nameHint, ui.nameInput, false);
  start(name);
});
ui.nameInput.addEventListener('input', () => {
  const v = ui.nameInput.value.trim();
  showHint(ui.nameHint, ui.nameInput, v !== '' && !NAME_RE.test(v));
});

ui.roomForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const name = ui.roomInput.value.trim();
  if (!validRoom(name)) {
    showHint(ui.roomHint, ui.roomInput, true);
    toast('Room names: 1–64 letters, digits, _ . : -');
    ui.roomInput.focus();
    return;
  }
  ui.roomHint.hidden = true;
  ui.roomInput.setAttribute('aria-invalid', 'false');
  ui.roomInput.value = '';
  joinRoom(name);
});
ui.roomInput.addEventListener('input', () => {
  const v = ui.roomInput.value.trim();
  if (v === '' || validRoom(v)) { ui.roomHint.hidden = true; ui.roomInput.setAttribute('aria-invalid', 'false'); }
  else showHint(ui.roomHint, ui.roomInput, true);
});

ui.composer.addEventListener('submit', (e) => { e.preventDefault(); sendMessage(); ui.input.focus(); });
ui.input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage(); }
});
ui.input.addEventListener('input', () => { autosize(); renderComposer(); onUserTyping(); });
ui.input.addEventListener('blur', stopTyping);
ui.messages.addEventListener('scroll', loadOlder, { passive: true });
ui.signOut.addEventListener('click', signOut);
ui.profileForm.addEventListener('submit', (e) => { e.preventDefault(); saveProfile(); });

document.addEventListener('visibilitychange', () => {
  if (document.hidden) { stopTyping(); return; }
  const room = state.rooms.get(state.current);
  if (room) { room.unread = 0; renderRooms(); }
  maybeSendRead();
});
// Back online: do not wait for the backoff timer.
window.addEventListener('online', () => { if (state.conn === 'reconnecting' && !state.ws) connect(); });

const saved = localStorage.getItem(STORE.user);
if (saved && NAME_RE.test(saved)) start(saved);
else ui.nameInput.focus();
