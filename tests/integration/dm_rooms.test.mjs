// Direct-message rooms (protocol 1.1), on three nodes: only the two users of
// dm:A:B (A < B) may hold it, any other dm: name is bad_request, a token's
// room list does not keep its user out of their own DM rooms, and DM room
// names appear in no public view (the inbox: tests/integration/inbox.test.mjs).

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { CLUSTER_QUIET_MS, CONVERGE_MS, assertDeliveredOnce, converge } from './lib/checks.mjs';
import { connect, unique, upgradeStatus } from './lib/client.mjs';
import { getJson } from './lib/http.mjs';
import { cluster, clusterInfo, startNode, waitFor } from './lib/node.mjs';
import { signToken } from './lib/token.mjs';
import { cleanup, test } from './lib/test.mjs';

let nodes;

before(async () => {
  nodes = await cluster(3, { prefix: 'dm' });
});
after(cleanup);

/** Two fresh user names, the byte-wise smaller first, and their DM room. */
function pair() {
  const [a, b] = [unique('ann'), unique('bob')].sort();
  return { a, b, room: `dm:${a}:${b}` };
}

test('the two users of dm:A:B talk on different nodes, each message exactly once; typing and read receipts work', async () => {
  const { a, b, room } = pair();
  const ca = await connect(nodes[0], { user: a, rooms: [room] });
  const cb = await connect(nodes[2], { user: b, rooms: [room] });
  await ca.awaitJoined([room]);
  await cb.awaitJoined([room]);
  await converge([ca, cb], room, [a, b]);
  const acks = [await ca.say(room, 'hi bob'), await cb.say(room, 'hi ann')];
  await cb.next({ type: 'message', id: acks[0].id }, CONVERGE_MS);
  await ca.next({ type: 'message', id: acks[1].id }, CONVERGE_MS);
  await ca.send({ type: 'typing', room, state: 'start' });
  await cb.next({ type: 'typing', room, user: a }, CONVERGE_MS);
  await cb.send({ type: 'read', room, id: acks[0].id });
  await ca.next({ type: 'read_receipt', room, user: b, id: acks[0].id }, CONVERGE_MS);
  await sleep(CLUSTER_QUIET_MS);
  assertDeliveredOnce(ca, [acks[1].id]);
  assertDeliveredOnce(cb, [acks[0].id]);
});

test('a third user is refused with forbidden, by subscribe and at the upgrade (403), and the connection stays open', async () => {
  const { a, b, room } = pair();
  const cat = unique('cat');
  const cc = await connect(nodes[1], { user: cat, rooms: [] });
  await cc.send({ type: 'subscribe', rooms: [room] });
  const err = await cc.next({ type: 'error' });
  assert.equal(err.code, 'forbidden');
  assert.equal(err.ref, 'subscribe');
  await cc.ping(); // still open
  await cc.expectNothing({ type: 'subscribed', room });
  // The refused room is not held: a message to it is not_subscribed.
  await cc.send({ type: 'message', room, text: 'let me in', client_id: 'c1' });
  assert.equal((await cc.next({ type: 'error', ref: 'c1' })).code, 'not_subscribed');
  const res = await upgradeStatus(nodes[1].url(`/ws?user=${cat}&rooms=lobby,${room}`));
  assert.equal(res.status, 403, res.body);
  assert.equal(res.json.error, 'forbidden');
  assert.match(res.json.message, /conversation of two other users/);
  // Either of its users may, by name in the upgrade.
  for (const u of [a, b]) assert.equal((await upgradeStatus(nodes[1].url(`/ws?user=${u}&rooms=${room}`))).status, 101);
});

test('a dm: name that is not dm:A:B with A < B is bad_request, by subscribe and at the upgrade (400)', async () => {
  const { a, b } = pair();
  const bad = [
    `dm:${b}:${a}`, // the wrong order
    `dm:${a}:${a}`, // one user twice
    `dm:${a}`,
    `dm:${a}:`,
    `dm::${a}`,
    `dm:${a}:${b}:x`,
    'dm:',
    `dm:${a}:b c`,
  ];
  const c = await connect(nodes[0], { user: a, rooms: [] });
  for (const room of bad) {
    await c.send({ type: 'subscribe', rooms: [room] });
    const err = await c.next({ type: 'error' });
    assert.equal(err.code, 'bad_request', `${room}: ${JSON.stringify(err)}`);
    c.inbox.length = 0;
    const res = await upgradeStatus(nodes[0].url(`/ws?user=${a}&rooms=${encodeURIComponent(room)}`));
    assert.equal(res.status, 400, `${room} at the upgrade: ${res.body}`);
    assert.equal(res.json.error, 'bad_request');
  }
  await c.ping();
  // The longest DM room: two names of 32 characters, 68 in all.
  const [x, y] = ['x'.repeat(32), 'y'.repeat(32)];
  const longest = `dm:${x}:${y}`;
  assert.equal(longest.length, 68);
  const cx = await connect(nodes[0], { user: x, rooms: [longest] });
  await cx.awaitJoined([longest]);
});

test('DM room names and inbox groups appear in no public view, and their history is not served over HTTP without tokens', async () => {
  const { a, b, room } = pair();
  const ca = await connect(nodes[0], { user: a, rooms: [room] });
  await ca.awaitJoined([room]);
  await ca.say(room, 'private');
  const open = unique('open');
  const co = await connect(nodes[0], { user: b, rooms: [open] });
  await co.awaitJoined([open]);
  await waitFor(async () => (await clusterInfo(nodes[1])).groups[`room:${open}`] === 1, CONVERGE_MS, {
    what: 'the open room in /api/cluster',
  });
  for (const n of nodes) {
    const groups = Object.keys((await clusterInfo(n)).groups);
    assert.ok(!groups.some((g) => g.startsWith('room:dm:')), `${n.name} lists a DM room: ${groups}`);
    // Nor who is online: no group is kept per user (the inbox's listeners are node-local).
    assert.ok(!groups.some((g) => g.startsWith('inbox:')), `${n.name} lists an inbox group: ${groups}`);
  }
  const res = await getJson(nodes[0].url(`/api/rooms/${encodeURIComponent(room)}/history`));
  assert.equal(res.status, 403, res.text);
  assert.equal(res.json.error, 'forbidden');
});

test('with tokens: a token listing rooms still opens its own DM rooms, never others; HTTP history only to the two', async () => {
  const secret = 'dm-secret-' + unique('s');
  const node = await startNode({ name: 'dmauth', flags: { 'auth-secret': secret } });
  const { a, b, room } = pair();
  const cat = unique('cat');
  const tok = (sub) => signToken(secret, { sub, rooms: ['lobby'], exp: Math.floor(Date.now() / 1000) + 600 });
  const ok = await upgradeStatus(node.url(`/ws?token=${tok(a)}&rooms=lobby,${room}`));
  assert.equal(ok.status, 101, ok.body);
  const other = await upgradeStatus(node.url(`/ws?token=${tok(cat)}&rooms=${room}`));
  assert.equal(other.status, 403, other.body);
  assert.equal(other.json.error, 'forbidden');
  // Not its own DM room and not in its list: the token's refusal as for any room.
  const notListed = await upgradeStatus(node.url(`/ws?token=${tok(cat)}&rooms=elsewhere`));
  assert.equal(notListed.status, 401, notListed.body);
  const c = await connect(node, { query: { token: tok(b) }, rooms: [] });
  await c.subscribe([room]);
  const history = (t) => getJson(node.url(`/api/rooms/${encodeURIComponent(room)}/history?token=${t}`));
  assert.equal((await history(tok(a))).status, 200);
  const refused = await history(tok(cat));
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.json.error, 'forbidden');
});
