// A process that reaches a plaintext node's cluster port talks to its actors
// directly (tests/attack/rogue_chat.cpp). TLS keeps such a process out
// (tls.test.mjs); this shows what the chat server and connection actors do
// when one gets in anyway: messages from the future or for invalid rooms,
// relayed frames of the sender's choosing, the local API called from
// outside, frames pushed into a connection actor and the crash hook are all
// ignored, and so are an error message that answers nothing (CAF's default
// would end the chat server) and a forged down message naming a client; the
// node keeps serving with sane timestamps.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before } from 'node:test';

import { connect, unique } from './lib/client.mjs';
import { getText, metrics, roomHistory } from './lib/http.mjs';
import { startNode } from './lib/node.mjs';
import { ROGUE_CHAT_BIN, runRogueChat } from './lib/rogue.mjs';
import { cleanup, test } from './lib/test.mjs';

let node;

before(async () => {
  node = await startNode({ name: 'target' });
});
after(cleanup);

test('a rogue peer on the plaintext cluster port cannot inject, impersonate, skew time or crash', { timeout: 60_000 }, async () => {
  assert.ok(fs.existsSync(ROGUE_CHAT_BIN), `the rogue peer tool is built at ${ROGUE_CHAT_BIN}`);
  const room = unique('target');
  const victim = await connect(node, { user: 'victim', rooms: [room] });
  const observer = await connect(node, { user: unique('observer'), rooms: [room] });
  await victim.awaitJoined([room]);
  await observer.awaitJoined([room]);
  observer.drain();
  victim.drain();

  const rogue = await runRogueChat(node, room);
  assert.equal(rogue.code, 0, `the rogue peer ran every step:\n${rogue.out}`);
  assert.match(rogue.out, /^done$/m);

  // Nothing it sent reached anyone, or the history.
  await observer.expectNothing((f) => ['message', 'typing', 'read_receipt'].includes(f.type), 1000);
  await observer.expectNothing((f) => f.type === 'presence' && ['ghost', 'victim'].includes(f.user), 0);
  await victim.expectNothing((f) => f.type === 'message', 0);
  assert.deepEqual(await roomHistory(node, room), [], 'nothing was stored');

  // The node still serves, never restarted its chat server, and its clock
  // is where the wall clock is, not in 2100.
  assert.ok(node.running, 'the node process is alive');
  assert.equal((await getText(node.url('/healthz'))).status, 200);
  const m = await metrics(node);
  assert.equal(m.get('chat_server_restarts_total'), 0, 'the chat server never crashed');
  assert.ok(m.get('chat_peer_messages_refused_total') >= 3, 'the refused replicates and relay are counted');
  const ack = await victim.say(room, 'after the rogue');
  const skewMs = Math.abs(Date.parse(ack.ts) - Date.now());
  assert.ok(skewMs < 60_000, `the ack's ts ${ack.ts} is near now`);
  assert.equal((await observer.next('message')).text, 'after the rogue');
  const reply = await observer.say(room, 'the victim is still in the room');
  assert.equal((await victim.next({ type: 'message', id: reply.id })).text, 'the victim is still in the room');
});

/** chat_peer_messages_refused_total on `node`'s admin /metrics. */
async function refusedCount() {
  return (await metrics(node)).get('chat_peer_messages_refused_total');
}

// The full run above breaks several checks with each message (its year-2100
// message also has an id without its ts), so it passes with any one of them
// gone. Here each message breaks exactly one check and passes every other:
// without that check it is stored, delivered to the victim it names and not
// counted. Each goes alone and as a batch of one: two refusals.
test("each check on a peer's replicate refuses on its own: ts, id, user, room, known peers only", { timeout: 90_000 }, async () => {
  const room = unique('checks');
  const victim = await connect(node, { user: unique('victim'), rooms: [room] });
  await victim.awaitJoined([room]);
  victim.drain();

  for (const check of ['future-ts', 'bad-id', 'bad-user', 'bad-room', 'unknown-peer']) {
    const before = await refusedCount();
    const rogue = await runRogueChat(node, room, { args: ['--only', check] });
    assert.equal(rogue.code, 0, `${check}: the rogue peer sent it and the chat server handled it:\n${rogue.out}`);
    assert.match(rogue.out, /^handled$/m);
    assert.deepEqual(await roomHistory(node, room), [], `${check}: nothing was stored`);
    await victim.expectNothing((f) => f.type === 'message', 0);
    // The only trace of a message for an invalid room, which no one can hold.
    assert.equal((await refusedCount()) - before, 2, `${check}: the replicate and the batch are refused and counted`);
  }

  // Nothing dragged the node's clock along either.
  const ack = await victim.say(room, 'after the checks');
  assert.ok(Math.abs(Date.parse(ack.ts) - Date.now()) < 60_000, `the ack's ts ${ack.ts} is near now`);
});

test("the crash atom sent to a client's connection actor over the cluster port leaves that client connected", { timeout: 60_000 }, async () => {
  const room = unique('crash');
  const victim = await connect(node, { user: unique('victim'), rooms: [room] });
  const observer = await connect(node, { user: unique('observer'), rooms: [room] });
  await victim.awaitJoined([room]);
  await observer.awaitJoined([room]);
  victim.drain();
  observer.drain();

  const rogue = await runRogueChat(node, room, { args: ['--only', 'crash-conn'] });
  assert.equal(rogue.code, 0, `the rogue peer sent the crash atoms:\n${rogue.out}`);
  assert.match(rogue.out, /^sent crash-conn$/m);

  // A crashed connection actor closes its WebSocket with 1011 at once; the
  // victim's next frame would then find the connection closed.
  const pong = await victim.ping('after-crash').catch(async (e) => {
    const closed = await victim.closed(2000).catch(() => 'not closed');
    assert.fail(`the victim's connection ended ${JSON.stringify(closed)}: ${e.message}`);
  });
  assert.equal(pong.t, 'after-crash');
  assert.equal(victim.closeInfo, null, 'the victim is still connected');
  const ack = await victim.say(room, 'still here');
  assert.equal((await observer.next({ type: 'message', id: ack.id })).text, 'still here');
  const reply = await observer.say(room, 'and heard');
  assert.equal((await victim.next({ type: 'message', id: reply.id })).text, 'and heard');
  assert.equal(victim.closeInfo, null, 'the victim is still connected');
});
