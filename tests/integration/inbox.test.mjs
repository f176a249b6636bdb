// The inbox of protocol 1.1 on three nodes with on-disk stores: `inbox`
// right after `welcome`, conversations from the first message for both
// users (offline delivery), `inbox_update` to every connection of a user on
// every node, unread counts after reads on another node and after a
// reconnect, a read mark that a node missed while it was down, `not_found`
// for a read of an unknown id, and every node SIGKILLed and started again
// keeping conversations and read marks.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { CLUSTER_QUIET_MS, CONVERGE_MS } from './lib/checks.mjs';
import { connect, unique } from './lib/client.mjs';
import { cluster, waitFor, waitPeerCount } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';

let nodes;
const dirs = [];

before(async () => {
  for (let i = 0; i < 3; i++) dirs.push(fs.mkdtempSync(path.join(os.tmpdir(), `chatd-inbox-${i + 1}-`)));
  nodes = await cluster(3, { prefix: 'ib', dataDirs: dirs });
});
after(async () => {
  await cleanup();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Two fresh user names, the byte-wise smaller first, and their DM room. */
function pair(x = 'ann', y = 'bob') {
  const [a, b] = [unique(x), unique(y)].sort();
  return { a, b, room: `dm:${a}:${b}` };
}

/** Connects and returns the client with its `inbox` frame, checked to be the frame right after `welcome`. */
async function open(node, user, rooms = []) {
  const c = await connect(node, { user, rooms }); // checks that inbox is the frame after welcome
  assert.equal(c.inboxFrame.type, 'inbox', JSON.stringify(c.inboxFrame));
  return { c, inbox: c.inboxFrame.conversations };
}

/** Waits for the next inbox_update of `room` matching `fields` (unread, …). */
function update(c, room, fields = {}) {
  return c.next(
    (f) => f.type === 'inbox_update' && f.conversation.room === room && Object.entries(fields).every(([k, v]) => f.conversation[k] === v),
    CONVERGE_MS,
  );
}

function entry(inbox, room) {
  return inbox.find((e) => e.room === room);
}

/**
 * The user's conversation in `room` as a new connection to `node` sees it,
 * once its unread count is `want`: acks wait for one peer only, so another
 * node may take a moment.
 */
async function seenOn(node, user, room, want) {
  let last;
  await waitFor(
    async () => {
      const { c, inbox } = await open(node, user);
      c.close();
      last = entry(inbox, room);
      return last?.unread === want;
    },
    CONVERGE_MS,
    { interval: 200, what: () => `${user}'s unread in ${room} on ${node.name} to be ${want} (is ${last?.unread})` },
  );
  return last;
}

/** The rooms of the user's inbox on `node`, once they are `want` (in order). */
async function orderOn(node, user, want) {
  let last;
  await waitFor(
    async () => {
      const { c, inbox } = await open(node, user);
      c.close();
      last = inbox.map((e) => e.room);
      return last.join() === want.join();
    },
    CONVERGE_MS,
    { interval: 200, what: () => `${user}'s inbox on ${node.name} to be ${want} (is ${last})` },
  );
}

/** Alice (on `node`) writes `texts` to `other` without ever subscribing anywhere else; resolves to the acks. */
async function write(node, from, room, texts) {
  const { c } = await open(node, from, [room]);
  await c.awaitJoined([room]);
  const acks = [];
  for (const t of texts) acks.push(await c.say(room, t));
  c.close();
  return acks;
}

test('offline delivery: a conversation exists for both users from its first message; the recipient connects later on another node', async () => {
  const { a, b, room } = pair();
  const acks = await write(nodes[0], a, room, ['hi bob', 'are you there?']);
  await seenOn(nodes[2], b, room, 2);
  const { c, inbox } = await open(nodes[2], b);
  assert.equal(inbox.length, 1);
  const e = inbox[0];
  assert.equal(e.room, room);
  assert.equal(e.user, a);
  assert.equal(e.unread, 2);
  assert.equal(e.last.id, acks[1].id);
  assert.equal(e.last.text, 'are you there?');
  assert.equal(e.last.user, a);
  assert.equal(e.last.type, undefined);
  // The messages wait in the conversation.
  await c.send({ type: 'subscribe', rooms: [room] });
  const { history } = (await c.awaitJoined([room]))[room];
  assert.deepEqual(history.messages.map((m) => m.id), acks.map((x) => x.id));
  // The sender's own inbox has it, nothing unread.
  const mine = await seenOn(nodes[1], a, room, 0);
  assert.equal(mine.user, b);
});

test('inbox_update reaches every connection of the user on every node, subscribed or not, once per change', async () => {
  const { a, b, room } = pair();
  const alice = await open(nodes[0], a, [room]);
  await alice.c.awaitJoined([room]);
  const aliceElsewhere = await open(nodes[1], a); // not subscribed
  // The first message starts the conversation: both users hear of it, the sender too.
  const first = await alice.c.say(room, 'hello');
  await update(alice.c, room, { unread: 0 });
  const started = await update(aliceElsewhere.c, room, { unread: 0 });
  assert.equal(started.conversation.user, b);
  assert.equal(started.conversation.last.id, first.id);
  for (const n of nodes) await seenOn(n, b, room, 1);
  const bobs = [await open(nodes[0], b), await open(nodes[1], b), await open(nodes[2], b, [room])];
  await bobs[2].c.awaitJoined([room]);
  for (const { inbox } of bobs) assert.equal(entry(inbox, room).unread, 1);
  const acks = [await alice.c.say(room, 'two'), await alice.c.say(room, 'three')];
  for (const { c } of bobs) {
    const u = await update(c, room, { unread: 3 });
    assert.equal(u.conversation.user, a);
    assert.equal(u.conversation.last.id, acks[1].id);
  }
  // A message from oneself is not news to oneself once the conversation exists.
  await alice.c.expectNothing((f) => f.type === 'inbox_update');
  await sleep(CLUSTER_QUIET_MS);
  for (const { c } of bobs) assert.equal(c.seen((f) => f.type === 'inbox_update' && f.conversation.unread === 3).length, 1, c.label);
  assert.equal(aliceElsewhere.c.seen('inbox_update').length, 1, 'alice heard only of the start');
});

test('unread counts follow reads made on another node, and a reconnect sees them', async () => {
  const { a, b, room } = pair();
  const acks = await write(nodes[0], a, room, ['one', 'two', 'three', 'four']);
  await seenOn(nodes[1], b, room, 4);
  const watcher = await open(nodes[0], b); // bob's other tab, on another node than his reader
  assert.equal(entry(watcher.inbox, room).unread, 4);
  const reader = await open(nodes[1], b, [room]);
  await reader.c.awaitJoined([room]);
  await reader.c.send({ type: 'read', room, id: acks[1].id });
  assert.equal((await update(watcher.c, room, { unread: 2 })).conversation.last.id, acks[3].id);
  await update(reader.c, room, { unread: 2 });
  // An older read does not move the mark back.
  await reader.c.send({ type: 'read', room, id: acks[0].id });
  await reader.c.ping();
  await watcher.c.expectNothing((f) => f.type === 'inbox_update' && f.conversation.unread !== 2);
  await reader.c.send({ type: 'read', room, id: acks[3].id });
  await update(watcher.c, room, { unread: 0 });
  // Everywhere, on a new connection: nothing unread.
  for (const n of nodes) await seenOn(n, b, room, 0);
  // Alice's unread is hers: bob's reads do not touch it.
  await seenOn(nodes[2], a, room, 0);
  // Answering counts as having read: bob's answer leaves bob nothing unread, alice one.
  await write(nodes[2], a, room, ['five']);
  await update(watcher.c, room, { unread: 1 });
  await write(nodes[1], b, room, ['answer']);
  await seenOn(nodes[0], b, room, 0);
  await seenOn(nodes[0], a, room, 1);
});

test("answering unread messages clears the unread count on every connection of the sender, on every node", async () => {
  const { a, b, room } = pair();
  await write(nodes[0], a, room, ['one', 'two']);
  for (const n of nodes) await seenOn(n, b, room, 2);
  const replier = await open(nodes[1], b, [room]);
  await replier.c.awaitJoined([room]);
  const otherTab = await open(nodes[2], b); // not subscribed, another node
  assert.equal(entry(otherTab.inbox, room).unread, 2);
  // No read frame: the answer alone moves bob's read position.
  const answer = await replier.c.say(room, 'answer');
  for (const { c } of [replier, otherTab]) {
    const u = await update(c, room, { unread: 0 });
    assert.equal(u.conversation.last.id, answer.id, c.label);
  }
  // Nothing was unread any more: a second answer is not news to bob.
  await replier.c.say(room, 'and more');
  await sleep(CLUSTER_QUIET_MS);
  for (const { c } of [replier, otherTab]) assert.equal(c.seen('inbox_update').length, 1, c.label);
});

test('newest activity first', async () => {
  const a = unique('amy');
  const others = [unique('bea'), unique('cyd'), unique('dot')];
  const rooms = others.map((o) => `dm:${[a, o].sort().join(':')}`);
  for (let i = 0; i < others.length; i++) await write(nodes[i], others[i], rooms[i], [`from ${others[i]}`]);
  await orderOn(nodes[0], a, [...rooms].reverse());
  await write(nodes[1], others[0], rooms[0], ['again']);
  await orderOn(nodes[2], a, [rooms[0], rooms[2], rooms[1]]);
});

test('a read of an id not in the conversation is not_found; nothing is stored and the connection stays open', async () => {
  const { a, b, room } = pair();
  const acks = await write(nodes[0], a, room, ['x']);
  const other = pair('cat', 'dan');
  const elsewhere = await write(nodes[0], other.a, other.room, ['y']);
  const bob = await open(nodes[1], b, [room]);
  await bob.c.awaitJoined([room]);
  for (const id of ['no-such-id', elsewhere[0].id]) {
    await bob.c.send({ type: 'read', room, id });
    const err = await bob.c.next('error');
    assert.equal(err.code, 'not_found');
    assert.equal(err.ref, 'read');
  }
  await bob.c.ping();
  await sleep(CLUSTER_QUIET_MS);
  assert.equal(bob.c.seen('inbox_update').length, 0);
  await seenOn(nodes[2], b, room, 1);
  // Not subscribed: not_subscribed, as for every room.
  const lurker = await open(nodes[2], b);
  await lurker.c.send({ type: 'read', room, id: acks[0].id });
  assert.equal((await lurker.c.next('error')).code, 'not_subscribed');
});

test('a node that was down when a read happened gets the read mark when it comes back', { timeout: 60_000 }, async () => {
  const { a, b, room } = pair();
  const acks = await write(nodes[0], a, room, ['m1', 'm2']);
  await seenOn(nodes[2], b, room, 2);
  await nodes[2].crash();
  const reader = await open(nodes[0], b, [room]);
  await reader.c.awaitJoined([room]);
  await reader.c.send({ type: 'read', room, id: acks[1].id });
  await update(reader.c, room, { unread: 0 });
  await nodes[2].start();
  await waitPeerCount(nodes[2], 2);
  // Pulled on arrival: the first inbox there already has it.
  assert.equal(entry((await open(nodes[2], b)).inbox, room).unread, 0);
});

test('every node SIGKILLed and started again: conversations and read marks are kept', { timeout: 90_000 }, async () => {
  const { a, b, room } = pair();
  const acks = await write(nodes[1], a, room, ['k1', 'k2', 'k3']);
  const reader = await open(nodes[2], b, [room]);
  await reader.c.awaitJoined([room]);
  await reader.c.send({ type: 'read', room, id: acks[0].id });
  await update(reader.c, room, { unread: 2 });
  // The mark is on every node before they all die.
  for (const n of nodes) await seenOn(n, b, room, 2);
  await Promise.all(nodes.map((n) => n.crash()));
  await Promise.all(nodes.map((n) => n.start()));
  await Promise.all(nodes.map((n) => waitPeerCount(n, 2)));
  for (const n of nodes) {
    const bob = entry((await open(n, b)).inbox, room);
    assert.equal(bob.unread, 2, n.name);
    assert.equal(bob.last.id, acks[2].id, n.name);
    assert.equal(entry((await open(n, a)).inbox, room).unread, 0, n.name);
  }
});
