// Fault isolation inside one node, through the test-only hooks of
// --debug-endpoints:
//   POST /debug/crash/chat_server         the chat server actor dies (and is restarted)
//   POST /debug/crash/chat_server?when=next_publish
//                                         ... right after it stores the next new message
//   POST /debug/crash/session/SESSION_ID  one connection's actor dies
// and the graceful shutdown on SIGTERM.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { connect, unique } from './lib/client.mjs';
import { getJson, metrics, post, roomHistory } from './lib/http.mjs';
import { converge } from './lib/checks.mjs';
import { cluster, startNode, waitFor } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';

let node;

before(async () => {
  node = await startNode({ name: 'sup', flags: { 'debug-endpoints': true } });
});
after(cleanup);

async function restarts(n) {
  const v = (await metrics(n)).get('chat_restarts_total');
  assert.equal(typeof v, 'number', 'chat_restarts_total is in /metrics');
  return v;
}

/**
 * Publishes with a fixed client_id, sending it again every second until it is
 * acked: how a client rides out a restart window. The retry rule makes this
 * safe: however many copies were sent, the message exists once.
 */
async function publishWithRetry(c, room, text, clientId, timeoutMs = 10_000) {
  return waitFor(
    async () => {
      await c.send({ type: 'message', room, text, client_id: clientId });
      return c.next({ type: 'ack', client_id: clientId }, 1000);
    },
    timeoutMs,
    { interval: 0, what: `ack of ${clientId}` },
  );
}

test('after the chat server crashes, connections, history and new clients keep working', async () => {
  const room = unique('sup');
  const a = await connect(node, { user: unique('a'), rooms: [room] });
  const b = await connect(node, { user: unique('b'), rooms: [room] });
  await a.awaitJoined([room]);
  await b.awaitJoined([room]);
  const before = await restarts(node);
  const m1 = await a.say(room, 'before the crash');
  await b.next({ type: 'message', id: m1.id });

  const res = await post(node.adminUrl('/debug/crash/chat_server'));
  assert.equal(res.status, 200);
  await waitFor(async () => (await restarts(node)) > before, 10_000, { what: 'chat_restarts_total to grow' });

  // Existing connections still publish and receive, both ways, exactly once.
  const m2 = await publishWithRetry(a, room, 'after the crash', 'sup-a-1');
  const got = await b.next({ type: 'message', id: m2.id }, 10_000);
  assert.equal(got.text, 'after the crash');
  const m3 = await publishWithRetry(b, room, 'reply', 'sup-b-1');
  await a.next({ type: 'message', id: m3.id }, 10_000);
  await b.expectNothing({ type: 'message', id: m2.id });
  await a.expectNothing({ type: 'message', id: m3.id });
  assert.equal(b.seen({ type: 'message', id: m2.id }).length, 1, 'delivered once');

  // The history store survived the restart.
  const ids = (await roomHistory(node, room)).map((m) => m.id);
  assert.deepEqual(ids, [m1.id, m2.id, m3.id]);

  // New connections get that history and live messages.
  const c = await connect(node, { user: unique('c'), rooms: [room] });
  const { history } = (await c.awaitJoined([room]))[room];
  assert.deepEqual(history.messages.map((m) => m.id), ids);
  const m4 = await a.say(room, 'to the newcomer');
  await c.next({ type: 'message', id: m4.id });
  await b.next({ type: 'message', id: m4.id });
});

test('after the chat server crashes, connections still hear of their inbox, in no room or in a room, once per change', async () => {
  // Who listens for a user's inbox is kept beside the chat server, not in
  // it: the restarted one finds the connections there, including those in
  // no room, which no group would name. One closes while no chat server
  // runs: the new one must not trip over it.
  const [x, y] = [unique('ann'), unique('bob')].sort();
  const room = `dm:${x}:${y}`;
  const writer = await connect(node, { user: x, rooms: [room] });
  await writer.awaitJoined([room]);
  const lobby = unique('lobby');
  const idle = await connect(node, { user: y }); // in no room
  const inRoom = await connect(node, { user: y, rooms: [lobby] });
  await inRoom.awaitJoined([lobby]);
  const leaving = await connect(node, { user: y });
  const before = await restarts(node);

  const res = await post(node.adminUrl('/debug/crash/chat_server'));
  assert.equal(res.status, 200);
  await leaving.close();
  await waitFor(async () => (await restarts(node)) > before, 10_000, { what: 'chat_restarts_total to grow' });

  const m = await publishWithRetry(writer, room, 'after the crash', 'sup-dm-1');
  for (const c of [idle, inRoom]) {
    const u = await c.next((f) => f.type === 'inbox_update' && f.conversation.room === room, 10_000);
    assert.equal(u.conversation.unread, 1, c.label);
    assert.equal(u.conversation.last.id, m.id, c.label);
  }
  const m2 = await writer.say(room, 'and again');
  for (const c of [idle, inRoom]) {
    await c.next((f) => f.type === 'inbox_update' && f.conversation.last?.id === m2.id && f.conversation.unread === 2, 10_000);
    await c.expectNothing((f) => f.type === 'inbox_update' && f.conversation.last?.id === m2.id);
    assert.equal(c.seen((f) => f.type === 'inbox_update' && f.conversation.last?.id === m2.id).length, 1, `${c.label}: once`);
  }
  // The room connection is still a member after the restart.
  const other = await connect(node, { user: unique('cy'), rooms: [lobby] });
  await other.awaitJoined([lobby]);
  const hello = await other.say(lobby, 'hello');
  await inRoom.next({ type: 'message', id: hello.id });
});

test('a chat server that dies between storing a message and sending it on: the retry finishes it, every member gets it once', async () => {
  // The sender's retry finds the stored copy (same client_id). Acking it is
  // not enough: the dead chat server had not replicated it, nor delivered it
  // to the node's other members, who keep their connections and would
  // never see it live.
  const [n1, n2] = await cluster(2, { prefix: 'supc', flags: { 'debug-endpoints': true } });
  const room = unique('supc');
  const a = await connect(n1, { user: unique('a'), rooms: [room] });
  const b = await connect(n1, { user: unique('b'), rooms: [room] });
  const c = await connect(n2, { user: unique('c'), rooms: [room] });
  for (const x of [a, b, c]) await x.awaitJoined([room]);
  await converge([a, b, c], room, [a, b, c].map((x) => x.welcome.user));
  const before = await restarts(n1);

  const res = await post(n1.adminUrl('/debug/crash/chat_server?when=next_publish'));
  assert.equal(res.status, 200);
  await a.send({ type: 'message', room, text: 'stored, then the crash', client_id: 'supc-a-1' });
  const err = await a.next((f) => f.type === 'error' && f.ref === 'supc-a-1', 10_000);
  assert.equal(err.code, 'internal');
  await waitFor(async () => (await restarts(n1)) > before, 10_000, { what: 'chat_restarts_total to grow' });

  const m = await publishWithRetry(a, room, 'stored, then the crash', 'supc-a-1');
  for (const x of [b, c]) {
    const got = await x.next({ type: 'message', id: m.id }, 10_000);
    assert.equal(got.text, 'stored, then the crash');
  }
  for (const x of [b, c]) await x.expectNothing({ type: 'message', id: m.id });
  for (const x of [b, c]) assert.equal(x.seen({ type: 'message', id: m.id }).length, 1, `${x.label}: delivered once`);
  assert.equal(a.seen({ type: 'message', id: m.id }).length, 0, 'never back to the sender');
  for (const n of [n1, n2]) {
    const ids = (await roomHistory(n, room)).map((x) => x.id);
    assert.deepEqual(ids, [m.id], `${n.name} has it once`);
  }
  // Acked once more on a later retry, and not delivered again.
  const again = await publishWithRetry(a, room, 'stored, then the crash', 'supc-a-1');
  assert.equal(again.id, m.id);
  await b.expectNothing({ type: 'message', id: m.id });
});

test('a crashed session actor closes only its own connection, with 1011', async () => {
  const room = unique('sess');
  const VICTIM = unique('victim');
  const victim = await connect(node, { user: VICTIM, rooms: [room] });
  const o1 = await connect(node, { user: unique('o1'), rooms: [room] });
  const o2 = await connect(node, { user: unique('o2'), rooms: [room] });
  for (const c of [victim, o1, o2]) await c.awaitJoined([room]);

  const res = await post(node.adminUrl(`/debug/crash/session/${encodeURIComponent(victim.welcome.session)}`));
  assert.equal(res.status, 200);
  const info = await victim.closed(10_000);
  assert.equal(info.code, 1011);

  await o1.next({ type: 'presence', room, user: VICTIM, state: 'leave' }, 10_000);
  await o2.next({ type: 'presence', room, user: VICTIM, state: 'leave' }, 10_000);
  const m1 = await o1.say(room, 'still fine?');
  await o2.next({ type: 'message', id: m1.id });
  const m2 = await o2.say(room, 'still fine.');
  await o1.next({ type: 'message', id: m2.id });
  assert.ok(o1.isOpen && o2.isOpen);
});

test('the /debug hooks do not exist without --debug-endpoints', async () => {
  const plain = await startNode({ name: 'nodebug' });
  try {
    const c = await connect(plain, { user: unique('u'), rooms: '' });
    const before = await restarts(plain);
    const res = await post(plain.adminUrl('/debug/crash/chat_server'));
    assert.notEqual(res.status, 200);
    const res2 = await post(plain.adminUrl(`/debug/crash/session/${encodeURIComponent(c.welcome.session)}`));
    assert.notEqual(res2.status, 200);
    await c.ping();
    assert.equal(await restarts(plain), before);
  } finally {
    await plain.stop();
  }
});

test('SIGTERM drains: server_notice draining, /readyz 503, then the connections close and the process exits', async () => {
  const drainer = await startNode({ name: 'drainer', flags: { 'drain-grace-ms': 2000 } });
  const c = await connect(drainer, { user: unique('u') });
  await c.awaitJoined(['lobby']);

  drainer.kill('SIGTERM');
  const notice = await c.next('server_notice', 5000);
  assert.equal(notice.code, 'draining');
  assert.equal(typeof notice.message, 'string');
  const ready = await getJson(drainer.url('/readyz'));
  assert.equal(ready.status, 503);

  await c.closed(10_000);
  const exit = await drainer.waitExit(10_000);
  assert.ok(exit, 'the node exits by itself after the grace time');
  assert.equal(exit.signal, null, 'exited, not killed');
});
