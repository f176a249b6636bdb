// End to end: scrollback (protocol 1.1) in the chat page, in headless
// Chromium against a real node whose history is on disk.
//
// One node, `--data-dir` a fresh temporary directory, `--history 50` (the
// window sent after `subscribed`), and a raised rate limit so the writers
// are not held back. Two WebSocket clients, carol and erin, write 130
// numbered messages into the room `scroll`; dave opens the page, which shows
// only the newest 50, and scrolls to the top, page by page, until the first
// message and "Beginning of history".
//
// Dave's page talks to the node through Playwright's routeWebSocket: every
// frame passes unchanged both ways, but the test sees what the page asks
// for, can hold a scrollback answer back (to see the loading row, and that
// the page asks only once meanwhile), can deliver one twice (the page must
// show it once), and can make the page's next request name an id the node
// does not hold (the node answers not_found).
//
// The tests run in order and share the node and the page: scroll back to
// the first message; the node restarted on the same data directory (the
// page reconnects, starts scrollback afresh, and a reloaded page scrolls
// back again, from disk); not_found; no Chromium left behind.
//
// PAGE_DIR=../../web runs the page from that directory instead of the copy
// embedded in chatd (lib/harness.mjs servePageFrom), for work on the page
// without rebuilding the node.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';

import { closeAllClients, connect } from '../integration/lib/client.mjs';
import { makeNode, stopAll } from '../integration/lib/node.mjs';
import { closeAll, isAlive, launchUser, livePids } from './lib/browser.mjs';
import { artifact, clearArtifacts, rows, SERVED_PAGE_ARGS, servePageFrom, status, test, waitFor } from './lib/harness.mjs';

const ROOM = 'scroll';
const TOTAL = 130;
const WINDOW = 50;
const LOADING = 'Loading older messages…';
const BEGINNING = 'Beginning of history';

let node, dataDir, D;
let published = []; // { id, ts, user, text } of the 130 messages, in history order
const users = () => [D];

// What crossed dave's WebSocket (see routeWire).
const wire = {
  conns: 0,        // connections the page opened
  asked: [],       // history requests the page sent: { conn, room, before, limit }
  answers: [],     // scrollback answers the node sent: the frames
  errors: [],      // error frames the node sent
  hold: false,     // true: scrollback answers wait in `held`
  held: [],        // () => deliver, one per held answer
  replay: false,   // true: the next scrollback answer reaches the page twice
  rewrite: null,   // an id: the next history request asks before it instead
};

before(async () => {
  clearArtifacts('scrollback-');
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-scrollback-'));
  node = await makeNode({
    name: 's1',
    flags: { 'data-dir': dataDir, history: WINDOW, 'rate-per-s': 1000, burst: 1000 },
  });
  await node.start();
  published = await publish();
  D = await launchUser('dave', { args: process.env.PAGE_DIR ? SERVED_PAGE_ARGS : [] });
  await routeWire(D);
  if (process.env.PAGE_DIR) await servePageFrom(D, path.resolve(process.env.PAGE_DIR), node.baseUrl);
});

after(async () => {
  await closeAll();
  closeAllClients();
  await stopAll();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- helpers

/** carol and erin write TOTAL numbered messages, in turns of a few; resolves to them in history order. */
async function publish() {
  const writers = [await connect(node, { user: 'carol', rooms: [ROOM] }), await connect(node, { user: 'erin', rooms: [ROOM] })];
  const out = [];
  for (let i = 1; i <= TOTAL; i++) {
    const w = writers[Math.floor((i - 1) / 4) % 2];
    const text = `message ${String(i).padStart(3, '0')}${i % 9 === 0 ? ' — a longer one, so that not every row has the same height in the list' : ''}`;
    const ack = await w.say(ROOM, text);
    out.push({ id: ack.id, ts: ack.ts, user: w === writers[0] ? 'carol' : 'erin', text });
  }
  for (const w of writers) await w.close();
  // History order: ts, then id (docs/protocol.md); one writer at a time, so also the order written.
  const sorted = [...out].sort((a, b) => (a.ts !== b.ts ? (a.ts < b.ts ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  assert.deepEqual(sorted.map((m) => m.text), out.map((m) => m.text), 'history order is the order written');
  assert.equal(new Set(out.map((m) => m.id)).size, TOTAL, 'every message got its own id');
  return sorted;
}

/** Routes the page's WebSocket through the test (see `wire`). */
async function routeWire(user) {
  await user.page.routeWebSocket((url) => url.pathname === '/ws', (ws) => {
    const server = ws.connectToServer();
    const conn = ++wire.conns;
    ws.onMessage((msg) => {
      const f = parse(msg);
      if (f?.type === 'history') {
        wire.asked.push({ conn, room: f.room, before: f.before, limit: f.limit });
        if (wire.rewrite) {
          msg = JSON.stringify({ ...f, before: wire.rewrite });
          wire.rewrite = null;
        }
      }
      server.send(msg);
    });
    server.onMessage((msg) => {
      const f = parse(msg);
      if (f?.type === 'error') wire.errors.push(f);
      if (f?.type === 'history' && f.before !== undefined) {
        wire.answers.push(f);
        const times = wire.replay ? 2 : 1;
        wire.replay = false;
        const deliver = () => { for (let i = 0; i < times; i++) ws.send(msg); };
        if (wire.hold) wire.held.push(deliver);
        else deliver();
        return;
      }
      ws.send(msg);
    });
  });
}

function parse(msg) {
  try {
    return JSON.parse(typeof msg === 'string' ? msg : msg.toString('utf8'));
  } catch {
    return null;
  }
}

/** Lets the held answers in; later ones are held still while wire.hold is true. */
function release() {
  for (const deliver of wire.held.splice(0)) deliver();
}

const byTestId = (user, id) => user.page.locator(`[data-testid="${id}"]`);
const idsOf = (list) => list.map((m) => m.id);
const textsOf = (list) => list.map((m) => m.text);

/** The history row: { state, text, inView } (inView: wholly inside the list's visible area), or null. */
function historyRow(user) {
  return user.page.evaluate(() => {
    const row = document.querySelector('[data-testid=message-list] [data-testid=history-status]');
    if (!row) return null;
    const r = row.getBoundingClientRect();
    const l = document.querySelector('[data-testid=message-list]').getBoundingClientRect();
    return { state: row.dataset.state, text: row.textContent, inView: r.height > 0 && r.top >= l.top - 0.5 && r.bottom <= l.bottom + 0.5 };
  });
}

/** The list's scroll, and the first message row in view with its distance from the list's top edge. */
function view(user) {
  return user.page.evaluate(() => {
    const list = document.querySelector('[data-testid=message-list]');
    const top = list.getBoundingClientRect().top;
    const first = [...list.querySelectorAll('[data-testid=message]')].find((r) => r.getBoundingClientRect().bottom > top);
    return {
      scrollTop: list.scrollTop,
      atBottom: list.scrollHeight - list.scrollTop - list.clientHeight < 2,
      firstId: first?.dataset.id ?? null,
      firstOffset: first ? first.getBoundingClientRect().top - top : null,
    };
  });
}

/** Where the row of message `id` is, from the list's top edge (null when not shown). */
function offsetOf(user, id) {
  return user.page.evaluate((id) => {
    const list = document.querySelector('[data-testid=message-list]');
    const row = list.querySelector(`[data-testid=message][data-id="${CSS.escape(id)}"]`);
    return row ? row.getBoundingClientRect().top - list.getBoundingClientRect().top : null;
  }, id);
}

async function scrollTo(user, where) {
  await byTestId(user, 'message-list').evaluate((l, where) => {
    l.scrollTop = where === 'top' ? 0 : where === 'bottom' ? l.scrollHeight : where;
  }, where);
}

/** The page shows exactly `expected` (messages in order), each once. */
async function assertShows(user, expected, what) {
  const list = await rows(user);
  const ids = idsOf(list);
  const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
  assert.deepEqual(dup, [], `${what}: no message id shown twice`);
  assert.deepEqual(textsOf(list), textsOf(expected), `${what}: the texts, in order`);
  assert.deepEqual(ids, idsOf(expected), `${what}: the ids, in order`);
}

async function waitShows(user, expected, what, timeoutMs = 10_000) {
  await waitFor(async () => (await rows(user)).length === expected.length, timeoutMs, {
    what: `${what}: ${expected.length} message rows`,
  });
  await assertShows(user, expected, what);
}

async function waitConnected(user, timeoutMs = 20_000) {
  await waitFor(async () => (await status(user)).state === 'connected', timeoutMs, { what: `${user.label}'s page to be connected` });
}

/** Opens the page as dave and joins ROOM through the room form (the first time) or finds it selected. */
async function openPage(user) {
  await user.page.goto(`${node.baseUrl}/`);
  if (await byTestId(user, 'name-input').isVisible()) {
    await byTestId(user, 'name-input').fill('dave');
    await byTestId(user, 'join-button').click();
  }
  await waitConnected(user);
  if (!(await user.page.locator(`[data-testid=room-item][data-room="${ROOM}"]`).count())) {
    await byTestId(user, 'room-input').fill(ROOM);
    await byTestId(user, 'room-join-button').click();
  }
  await user.page.locator(`[data-testid=room-item][data-room="${ROOM}"].selected:not(.pending)`).waitFor({ timeout: 10_000 });
}

/**
 * One scrollback step, held: scrolls to the top, checks the loading row and
 * that the page asked once, before the oldest message shown, for 50; then
 * lets the answer in and checks the message the user was looking at did
 * not move. Resolves to the answer.
 */
async function scrollBackOnce(user, { shown, replay = false, shot = null }) {
  const askedBefore = wire.asked.length;
  const answersBefore = wire.answers.length;
  wire.hold = true;
  wire.replay = replay;
  await scrollTo(user, 'top');
  await waitFor(async () => (await historyRow(user))?.state === 'loading', 5000, { what: 'the history row to say loading' });
  const loading = await historyRow(user);
  assert.equal(loading.text, LOADING);
  assert.ok(loading.inView, 'the loading row is in view at the top of the list');
  await waitFor(() => wire.answers.length === answersBefore + 1, 10_000, { what: "the node's answer to the page's history request" });
  if (shot) await user.page.screenshot({ path: artifact(shot) });

  // Scrolling about while the answer is out asks nothing more.
  await scrollTo(user, 200);
  await scrollTo(user, 'top');
  await user.page.waitForTimeout(300);
  assert.equal(wire.asked.length, askedBefore + 1, 'one history request in flight, however often the user scrolls to the top');
  const asked = wire.asked.at(-1);
  assert.deepEqual({ room: asked.room, before: asked.before, limit: asked.limit }, { room: ROOM, before: shown[0].id, limit: 50 },
    'the page asks for the 50 messages before the oldest one it shows');
  assert.deepEqual(await rows(user).then(idsOf), idsOf(shown), 'nothing changes before the answer is in');

  // The message the user is looking at, and where.
  const before = await view(user);
  assert.ok(before.firstId, 'a message row is in view');
  const answer = wire.answers.at(-1);
  // Answers to any further request stay held (wire.hold), so what is
  // checked below is what this one answer did.
  release();
  const expected = [...answer.messages.map((m) => ({ id: m.id, text: m.text })), ...shown];
  await waitFor(async () => (await rows(user)).length >= expected.length, 10_000, { what: `${expected.length} rows after the answer` });
  await user.page.waitForTimeout(300); // a second copy (replay), or a request that should not be, is in by then
  const ids = idsOf(await rows(user));
  assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'no message id shown twice');
  const moved = (await offsetOf(user, before.firstId)) - before.firstOffset;
  assert.ok(Math.abs(moved) <= 1, `the message in view stays where it was (moved by ${moved}px)`);
  await assertShows(user, expected, 'after a scrollback page');
  assert.equal(wire.asked.length, askedBefore + 1, 'no further request while the user has not scrolled up again');
  wire.hold = false;
  return { answer, shownNow: expected };
}

// ---------------------------------------------------------------- tests

test('the page shows the newest 50, then scrolls back page by page to the first message', { timeout: 90_000, users }, async () => {
  await openPage(D);
  assert.ok(await D.page.evaluate(() => window.chatDebug.state.features.has('scrollback')), "the node's welcome lists scrollback");
  let shown = published.slice(-WINDOW);
  await waitShows(D, shown, 'the window after subscribing');
  await waitFor(async () => (await view(D)).atBottom, 3000, { what: 'the list to be scrolled to the newest message' });
  assert.deepEqual(wire.asked, [], 'nothing is asked while the user reads the newest messages');
  const idle = await historyRow(D);
  assert.equal(idle?.state, 'idle', 'the history row waits at the top of the list');
  assert.equal(idle.inView, false, 'and is out of view while the user is at the bottom');

  // First page: the 50 before, delivered twice (the page shows it once).
  const first = await scrollBackOnce(D, { shown, replay: true, shot: 'scrollback-1-loading.png' });
  assert.deepEqual(idsOf(first.answer.messages), idsOf(published.slice(TOTAL - 2 * WINDOW, TOTAL - WINDOW)), 'the node sent the 50 before, oldest first');
  assert.equal(first.answer.more, true, 'the node says there is more');
  assert.equal((await historyRow(D)).state, 'idle', 'more to come: the page will ask again');
  shown = first.shownNow;

  // Then the rest, until the node says there is no more.
  for (let step = 2; ; step++) {
    assert.ok(step <= 4, 'the beginning is reached within a few pages');
    const next = await scrollBackOnce(D, { shown, shot: `scrollback-${step}-loading.png` });
    shown = next.shownNow;
    if (next.answer.more === false) break;
  }
  await assertShows(D, published, 'all messages');
  assert.equal(wire.answers.length, 2, 'two pages: 50, then the last 30 with more=false');

  // The top of the list says so, and the page stops asking.
  await scrollTo(D, 'top');
  await waitFor(async () => (await historyRow(D))?.state === 'end', 5000, { what: 'the history row to say the beginning is reached' });
  const end = await historyRow(D);
  assert.equal(end.text, BEGINNING);
  assert.ok(end.inView, '"Beginning of history" is in view at the top');
  await scrollTo(D, 300);
  await scrollTo(D, 'top');
  await D.page.waitForTimeout(300);
  assert.equal(wire.asked.length, 2, 'no request after the beginning was reached');
  assert.deepEqual(wire.errors, [], 'the node refused nothing');
  await D.page.screenshot({ path: artifact('scrollback-3-beginning.png') });
  assert.deepEqual(D.errors, [], 'no uncaught errors in the page');
});

test('the node restarted on its data directory: the page starts scrollback afresh, a reloaded page scrolls back from disk', { timeout: 90_000, users }, async () => {
  const askedBefore = wire.asked.length;
  const connsBefore = wire.conns;
  const exit = await node.stop();
  assert.equal(exit.code, 0, 'the node stopped cleanly');
  await waitFor(async () => (await status(D)).state !== 'connected', 10_000, { what: 'the page to notice its node is gone' });
  await node.start();
  await waitConnected(D, 30_000);
  assert.ok(wire.conns > connsBefore, 'the page opened a new connection');

  // The page was at the top with the beginning reached. After the
  // reconnect it does not know that of this node: it asks again, before
  // the first message, and the node (from disk) says there is nothing more.
  await waitFor(async () => (await historyRow(D))?.state === 'end', 10_000, { what: 'the page to reach the beginning again on the new connection' });
  const again = wire.asked.slice(askedBefore);
  assert.equal(again.length, 1, `one request on the new connection: ${JSON.stringify(again)}`);
  assert.equal(again[0].conn, wire.conns, 'sent on the new connection');
  assert.equal(again[0].before, published[0].id, 'before the first message');
  assert.deepEqual(wire.answers.at(-1).messages, [], 'nothing is older than the first message');
  await assertShows(D, published, 'after the reconnect');

  // A fresh page: the newest 50 from the restarted node, then the rest from its disk.
  await D.page.reload();
  await waitConnected(D);
  let shown = published.slice(-WINDOW);
  await waitShows(D, shown, 'the window after the restart');
  while (shown.length < TOTAL) {
    const { shownNow } = await scrollBackOnce(D, { shown });
    assert.ok(shownNow.length > shown.length, 'each page brings older messages');
    shown = shownNow;
  }
  await assertShows(D, published, 'all messages after the restart');
  await scrollTo(D, 'top');
  await waitFor(async () => (await historyRow(D))?.state === 'end', 5000, { what: '"Beginning of history" after the restart' });
  assert.deepEqual(wire.errors, [], 'the node refused nothing');
  assert.deepEqual(D.errors, [], 'no uncaught errors in the page');
});

test('an id the node does not hold: the page shows a notice and stops asking, until the room is opened again', { timeout: 60_000, users }, async () => {
  await D.page.reload();
  await waitConnected(D);
  const shown = published.slice(-WINDOW);
  await waitShows(D, shown, 'the window');
  const askedBefore = wire.asked.length;

  // The page's next request names a message id this node never had.
  const unknown = `${published[0].id.slice(0, -1)}${published[0].id.endsWith('0') ? '1' : '0'}`;
  assert.ok(!published.some((m) => m.id === unknown));
  wire.rewrite = unknown;
  await scrollTo(D, 'top');
  await waitFor(async () => (await historyRow(D))?.state === 'failed', 10_000, { what: 'the history row to show the refusal' });
  const err = wire.errors.at(-1);
  assert.deepEqual({ code: err.code, ref: err.ref }, { code: 'not_found', ref: 'history' }, 'the node answered not_found');
  const row = await historyRow(D);
  assert.match(row.text, /not available/, 'a short notice says older messages are not available');
  assert.ok(row.inView);
  await D.page.screenshot({ path: artifact('scrollback-4-not-found.png') });

  // It stops: scrolling to the top again asks nothing.
  await scrollTo(D, 300);
  await scrollTo(D, 'top');
  await D.page.waitForTimeout(500);
  assert.equal(wire.asked.length, askedBefore + 1, 'no request after not_found');
  await assertShows(D, shown, 'nothing added after not_found');

  // Opening the room again starts afresh: it opens at the bottom, and
  // scrolling up asks again (this time before the real oldest message).
  await D.page.locator('[data-testid=room-item][data-room=lobby] .room-select').click();
  await D.page.locator(`[data-testid=room-item][data-room="${ROOM}"] .room-select`).click();
  await waitFor(async () => (await view(D)).atBottom, 3000, { what: 'the room to open at the bottom' });
  assert.equal((await historyRow(D)).state, 'idle');
  const { shownNow } = await scrollBackOnce(D, { shown });
  assert.equal(shownNow.length, 2 * WINDOW);
  assert.deepEqual(D.errors, [], 'no uncaught errors in the page');
});

test('closing the browser leaves no Chromium process behind', { timeout: 30_000, users }, async () => {
  const pids = livePids();
  assert.equal(pids.length, 1, 'one Chromium was running');
  await closeAll();
  for (const pid of pids) assert.ok(!isAlive(pid), `Chromium ${pid} is gone`);
});
