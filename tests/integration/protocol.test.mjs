// The wire protocol on one node: welcome, subscriptions, messages, acks,
// retries, typing, read receipts, presence, ping, history and resume, and the
// HTTP endpoints. Every room and most users are unique to their test, so the
// tests share one node without seeing each other.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { assertHistoryOrder, compareHistory } from './lib/checks.mjs';
import { connect, unique, upgradeStatus } from './lib/client.mjs';
import { getJson, getText, metrics, post, roomHistory } from './lib/http.mjs';
import { startNode, waitFor } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';

const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

let node;

before(async () => {
  node = await startNode({ name: 'proto' });
});
after(cleanup);

/** The fields of a delivered `message` frame the protocol defines. */
function messageFields(f) {
  return { type: f.type, room: f.room, id: f.id, user: f.user, text: f.text, ts: f.ts };
}

test('welcome is the first frame: node, session, user, protocol 1 and the default limits', async () => {
  const user = unique('w');
  const c = await connect(node, { user, rooms: '' });
  const w = c.welcome;
  assert.equal(w.type, 'welcome');
  assert.equal(w.node, 'proto');
  assert.equal(typeof w.session, 'string');
  assert.ok(w.session.length > 0, 'session must not be empty');
  assert.equal(w.user, user);
  assert.equal(w.protocol, 1);
  assert.equal(typeof w.limits, 'object');
  const defaults = {
    max_frame_bytes: 65536,
    max_text_chars: 4000,
    max_rooms: 50,
    rate_per_s: 20,
    burst: 40,
    max_queue_bytes: 4194304,
  };
  for (const [key, value] of Object.entries(defaults)) assert.equal(w.limits[key], value, `limits.${key}`);

  const other = await connect(node, { user, rooms: '' });
  assert.notEqual(other.welcome.session, w.session, 'two connections have two session ids');
});

test('without rooms= a connection is subscribed to lobby: subscribed (own user a member) then history', async () => {
  const user = unique('lobbyist');
  const c = await connect(node, { user });
  const { lobby } = await c.awaitJoined(['lobby']);
  assert.equal(lobby.subscribed.members.filter((u) => u === user).length, 1, 'own user once among members');
  assert.ok(Array.isArray(lobby.history.messages));
  assert.equal(lobby.history.gap, false);
  assert.deepEqual(
    c.frames.slice(0, 4).map((f) => f.type),
    ['welcome', 'inbox', 'subscribed', 'history'],
  );
});

test('rooms= (empty) subscribes to nothing', async () => {
  const c = await connect(node, { user: unique('none'), rooms: '' });
  await c.ping();
  assert.deepEqual(
    c.frames.map((f) => f.type),
    ['welcome', 'inbox', 'pong'],
  );
  await c.send({ type: 'message', room: 'lobby', text: 'hi', client_id: 'nope-1' });
  const err = await c.next('error');
  assert.equal(err.code, 'not_subscribed');
});

test('rooms=a,b subscribes to both, each subscribed before its history, and not to lobby', async () => {
  const user = unique('ab');
  const a = unique('ra');
  const b = unique('rb');
  const c = await connect(node, { user, rooms: [a, b] });
  const joined = await c.awaitJoined([a, b]);
  for (const room of [a, b]) {
    assert.deepEqual(joined[room].subscribed.members, [user]);
    assert.deepEqual(joined[room].history.messages, []);
    assert.equal(joined[room].history.gap, false);
  }
  await c.ping();
  assert.equal(c.seen({ room: 'lobby' }).length, 0, 'no lobby frames');
});

test('subscribe and unsubscribe: answers, presence for the others, no delivery after unsubscribe', async () => {
  const room = unique('r');
  const O = unique('obs');
  const U = unique('sub');
  const obs = await connect(node, { user: O, rooms: [room] });
  await obs.awaitJoined([room]);
  const c = await connect(node, { user: U, rooms: '' });

  const joined = await c.subscribe([room]);
  assert.deepEqual([...joined[room].subscribed.members].sort(), [O, U].sort());
  await obs.next({ type: 'presence', room, user: U, state: 'join' });

  await c.send({ type: 'unsubscribe', rooms: [room] });
  const un = await c.next('unsubscribed');
  assert.equal(un.room, room);
  await obs.next({ type: 'presence', room, user: U, state: 'leave' });

  await obs.say(room, 'after the unsubscribe');
  await c.expectNothing('message');
  await c.send({ type: 'message', room, text: 'still here?', client_id: 'gone-1' });
  const err = await c.next('error');
  assert.equal(err.code, 'not_subscribed');
  assert.equal(err.ref, 'gone-1');
});

test('subscribing again to a held room answers subscribed + history again and changes no presence', async () => {
  const room = unique('r');
  const O = unique('obs');
  const U = unique('again');
  const obs = await connect(node, { user: O, rooms: [room] });
  await obs.awaitJoined([room]);
  const c = await connect(node, { user: U, rooms: [room] });
  await c.awaitJoined([room]);
  await obs.next({ type: 'presence', room, user: U, state: 'join' });
  const ack = await c.say(room, 'before resubscribing');
  await obs.next({ type: 'message', id: ack.id });

  const again = await c.subscribe([room]);
  assert.deepEqual([...again[room].subscribed.members].sort(), [O, U].sort());
  assert.deepEqual(
    again[room].history.messages.map((m) => m.id),
    [ack.id],
  );
  await obs.expectNothing('presence');

  // Still subscribed once: a message arrives once.
  const ack2 = await obs.say(room, 'once please');
  await c.next({ type: 'message', id: ack2.id });
  await c.expectNothing('message');
});

test('unsubscribing a room the connection does not hold answers unsubscribed', async () => {
  const room = unique('never');
  const c = await connect(node, { user: unique('u'), rooms: '' });
  await c.send({ type: 'unsubscribe', rooms: [room] });
  const un = await c.next('unsubscribed');
  assert.equal(un.room, room);
  await c.ping();
  assert.equal(c.seen('error').length, 0);
});

test('a message is acked to its sender and delivered once to every other connection of the room', async () => {
  const room = unique('r');
  const other = unique('other');
  const A = unique('alice');
  const B = unique('bob');
  const a1 = await connect(node, { user: A, rooms: [room] });
  const a2 = await connect(node, { user: A, rooms: [room] }); // same user, another tab
  const b = await connect(node, { user: B, rooms: [room] });
  const c = await connect(node, { user: unique('carol'), rooms: [other] });
  for (const x of [a1, a2, b]) await x.awaitJoined([room]);
  await c.awaitJoined([other]);

  await a1.send({ type: 'message', room, text: 'hello', client_id: 'c-1' });
  const ack = await a1.next('ack');
  assert.equal(ack.client_id, 'c-1');
  assert.equal(ack.room, room);
  assert.equal(typeof ack.id, 'string');
  assert.ok(ack.id.length > 0);
  assert.match(ack.ts, TS);
  assert.ok(Math.abs(Date.parse(ack.ts) - Date.now()) < 5 * 60_000, `ts ${ack.ts} is UTC now`);

  for (const r of [a2, b]) {
    const m = await r.next({ type: 'message', id: ack.id });
    assert.deepEqual(messageFields(m), { type: 'message', room, id: ack.id, user: A, text: 'hello', ts: ack.ts });
  }
  await Promise.all([a1, a2, b, c].map((x) => x.expectNothing('message')));
  await a1.expectNothing('ack'); // one ack, whichever actor writes it
});

test('a message without client_id is acked with client_id null', async () => {
  const room = unique('r');
  const c = await connect(node, { user: unique('u'), rooms: [room] });
  await c.awaitJoined([room]);
  await c.send({ type: 'message', room, text: 'no client id' });
  const ack = await c.next('ack');
  assert.ok('client_id' in ack, 'ack has client_id');
  assert.equal(ack.client_id, null);
  assert.match(ack.ts, TS);
});

test('a retried client_id is acked with the original id and ts and delivered once', async () => {
  const room = unique('r');
  const room2 = unique('r2');
  const A = unique('alice');
  const a = await connect(node, { user: A, rooms: [room, room2] });
  const b = await connect(node, { user: unique('bob'), rooms: [room] });
  await a.awaitJoined([room, room2]);
  await b.awaitJoined([room]);

  const first = await a.say(room, 'retry me', { clientId: 'retry-1' });
  await b.next({ type: 'message', id: first.id });

  const again = await a.say(room, 'retry me', { clientId: 'retry-1' });
  assert.equal(again.id, first.id);
  assert.equal(again.ts, first.ts);
  await b.expectNothing('message');
  const history = await roomHistory(node, room);
  assert.equal(history.filter((m) => m.id === first.id).length, 1);
  assert.equal(history.length, 1);

  // The same client_id from the same user's other connection is a retry as well.
  const tab = await connect(node, { user: A, rooms: [room] });
  await tab.awaitJoined([room]);
  const fromTab = await tab.say(room, 'retry me', { clientId: 'retry-1' });
  assert.equal(fromTab.id, first.id);

  // Dedup is per (user, room, client_id): another user or another room is a new message.
  const byB = await b.say(room, 'same id, other user', { clientId: 'retry-1' });
  assert.notEqual(byB.id, first.id);
  await a.next({ type: 'message', id: byB.id });
  const inRoom2 = await a.say(room2, 'same id, other room', { clientId: 'retry-1' });
  assert.notEqual(inRoom2.id, first.id);
  await b.expectNothing({ type: 'message', id: first.id });
});

test('typing and read receipts are relayed to the room and not echoed to the sender', async () => {
  const room = unique('r');
  const A = unique('alice');
  const B = unique('bob');
  const a = await connect(node, { user: A, rooms: [room] });
  const b = await connect(node, { user: B, rooms: [room] });
  const outside = await connect(node, { user: unique('out'), rooms: '' });
  await a.awaitJoined([room]);
  await b.awaitJoined([room]);

  await a.send({ type: 'typing', room, state: 'start' });
  const t1 = await b.next('typing');
  assert.deepEqual({ room: t1.room, user: t1.user, state: t1.state }, { room, user: A, state: 'start' });
  await a.send({ type: 'typing', room, state: 'stop' });
  const t2 = await b.next('typing');
  assert.deepEqual({ room: t2.room, user: t2.user, state: t2.state }, { room, user: A, state: 'stop' });

  const ack = await b.say(room, 'read me');
  await a.next({ type: 'message', id: ack.id });
  await a.send({ type: 'read', room, id: ack.id });
  const rr = await b.next('read_receipt');
  assert.deepEqual({ room: rr.room, user: rr.user, id: rr.id }, { room, user: A, id: ack.id });

  await a.expectNothing((f) => f.type === 'typing' || f.type === 'read_receipt');
  await outside.expectNothing((f) => f.type === 'typing' || f.type === 'read_receipt');
});

test('presence: a user\'s first connection joins, more tabs are silent, the last one leaves; never about oneself', async () => {
  const room = unique('r');
  const O = unique('obs');
  const U = unique('tabs');
  const obs = await connect(node, { user: O, rooms: [room] });
  await obs.awaitJoined([room]);

  const u1 = await connect(node, { user: U, rooms: [room] });
  await u1.awaitJoined([room]);
  await obs.next({ type: 'presence', room, user: U, state: 'join' });

  const u2 = await connect(node, { user: U, rooms: [room] });
  const j2 = await u2.awaitJoined([room]);
  assert.deepEqual([...j2[room].subscribed.members].sort(), [O, U].sort(), 'each member once');
  await obs.expectNothing('presence');

  await u1.close();
  await obs.expectNothing('presence');
  await u2.close();
  await obs.next({ type: 'presence', room, user: U, state: 'leave' });

  for (const u of [u1, u2]) assert.deepEqual(u.seen({ type: 'presence', user: U }), [], `${u.label} got presence about itself`);
  assert.equal(obs.seen({ type: 'presence', user: U }).length, 2, 'one join and one leave');
});

test('ping is answered with pong echoing t, whatever JSON value it is', async () => {
  const c = await connect(node, { user: unique('pinger'), rooms: '' });
  for (const t of [1, 'x', 1.5, true, null, [1, '2', null], { a: [1, 2, { b: null }], s: 'ü😀' }]) {
    await c.send({ type: 'ping', t });
    const pong = await c.next('pong');
    assert.deepEqual(pong.t, t);
  }
});

test('subscribe with since resumes after that id (gap false); an unknown id gives the whole window (gap true)', async () => {
  const room = unique('resume');
  const p = await connect(node, { user: unique('pub'), rooms: [room] });
  await p.awaitJoined([room]);
  const ids = [];
  for (let i = 0; i < 12; i++) ids.push((await p.say(room, `m${i}`)).id);

  const r = await connect(node, { user: unique('resumer'), rooms: '' });
  const resumed = (await r.subscribe([room], { since: { [room]: ids[8] } }))[room].history;
  assert.equal(resumed.gap, false);
  const got = resumed.messages.map((m) => m.id);
  assert.deepEqual(got.slice(-3), ids.slice(9), 'every message after the since id, in order');
  assert.equal(new Set(got).size, got.length, 'no id twice');
  assert.ok(got.every((id) => ids.includes(id)));
  assert.ok(got.length < ids.length, `a resume is not the whole window (got ${got.length})`);
  for (const m of resumed.messages) assert.ok(!('type' in m), 'history messages have no type');

  const r2 = await connect(node, { user: unique('resumer'), rooms: '' });
  const unknown = (await r2.subscribe([room], { since: { [room]: 'no-such-id' } }))[room].history;
  assert.equal(unknown.gap, true);
  assert.deepEqual(unknown.messages.map((m) => m.id), ids);
});

test('history keeps the newest --history messages, ordered by ts then id, the same over WS and HTTP', async () => {
  const small = await startNode({ name: 'hist5', flags: { history: 5 } });
  try {
    const room = unique('h');
    const user = unique('writer');
    const c = await connect(small, { user, rooms: [room] });
    await c.awaitJoined([room]);
    const acks = [];
    for (let i = 0; i < 8; i++) acks.push({ ...(await c.say(room, `n${i}`)), text: `n${i}` });
    const newest5 = [...acks].sort(compareHistory).slice(-5);

    const api = await roomHistory(small, room);
    assert.deepEqual(
      api.map((m) => ({ room: m.room, id: m.id, user: m.user, text: m.text, ts: m.ts })),
      newest5.map((a) => ({ room, id: a.id, user, text: a.text, ts: a.ts })),
    );
    assertHistoryOrder(api);

    const reader = await connect(small, { user: unique('reader'), rooms: [room] });
    const { history } = (await reader.awaitJoined([room]))[room];
    assert.deepEqual(history.messages.map((m) => m.id), api.map((m) => m.id));
  } finally {
    await small.stop();
  }
});

test('/api/rooms/ROOM/history is a JSON array of messages, [] for a room never seen', async () => {
  const res = await getJson(node.url(`/api/rooms/${unique('ghost')}/history`));
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, []);

  const room = unique('r');
  const user = unique('u');
  const c = await connect(node, { user, rooms: [room] });
  await c.awaitJoined([room]);
  const ack = await c.say(room, 'kept');
  const history = await roomHistory(node, room);
  assert.equal(history.length, 1);
  assert.deepEqual(
    { room: history[0].room, id: history[0].id, user: history[0].user, text: history[0].text, ts: history[0].ts },
    { room, id: ack.id, user, text: 'kept', ts: ack.ts },
  );
});

test('/healthz and /readyz answer 200', async () => {
  assert.equal((await getText(node.url('/healthz'))).status, 200);
  assert.equal((await getText(node.url('/readyz'))).status, 200);
});

test('/metrics is Prometheus text on the admin port, with a chat_connections gauge that counts connections', async () => {
  const res = await getText(node.adminUrl('/metrics'));
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'] ?? '', /^text\/plain/);
  assert.match(res.text, /^# TYPE chat_connections gauge$/m);
  assert.match(res.text, /^chat_connections \d+$/m);

  // Connections closed by earlier tests may still be counted down: take the
  // count once two reads 200 ms apart agree.
  let previous;
  const { before } = await waitFor(
    async () => {
      const v = (await metrics(node)).get('chat_connections');
      const stable = v === previous;
      previous = v;
      return stable && { before: v };
    },
    5000,
    { interval: 200, what: 'a stable chat_connections' },
  );
  const extra = [
    await connect(node, { user: unique('m'), rooms: '' }),
    await connect(node, { user: unique('m'), rooms: '' }),
  ];
  await waitFor(async () => (await metrics(node)).get('chat_connections') === before + 2, 5000, {
    what: `chat_connections = ${before + 2}`,
  });
  await Promise.all(extra.map((c) => c.close()));
  await waitFor(async () => (await metrics(node)).get('chat_connections') === before, 5000, {
    what: `chat_connections back to ${before}`,
  });
});

test('the public port serves no /metrics, no /debug and only the public part of /api/cluster; the admin port no page and no WebSocket', async () => {
  for (const p of ['/metrics', '/debug/crash/chat_server']) {
    const res = p.startsWith('/debug') ? await post(node.url(p)) : await getText(node.url(p));
    assert.equal(res.status, p.startsWith('/debug') ? 405 : 404, p);
  }
  const pub = await getJson(node.url('/api/cluster'));
  assert.deepEqual(Object.keys(pub.json).sort(), ['node', 'peers', 'ready', 'url']);
  const full = await getJson(node.adminUrl('/api/cluster'));
  for (const k of ['node_id', 'cluster_addr', 'groups']) assert.ok(k in full.json, k);
  assert.equal((await getText(node.adminUrl('/'))).status, 404);
  assert.equal((await getText(node.adminUrl('/readyz'))).status, 200);
  const ws = await upgradeStatus(node.wsUrl({ user: 'x' }).replace(`:${node.httpPort}/`, `:${node.adminPort}/`));
  assert.equal(ws.status, 404, 'no WebSocket on the admin port');
});

test('/api/cluster names this node and, alone, no peers', async () => {
  const res = await getJson(node.url('/api/cluster'));
  assert.equal(res.status, 200);
  assert.equal(res.json.node, 'proto');
  assert.ok(Array.isArray(res.json.peers));
  assert.equal(res.json.peers.length, 0);
});

test('GET / serves the HTML chat page', async () => {
  const res = await getText(node.url('/'));
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'] ?? '', /^text\/html/);
  assert.match(res.text, /<html|<!doctype html/i);
});
