// A peer that stays connected but never answers what it is sent (its CAF
// layer still answers heartbeats, so CAF's own connection timeout never
// fires) is dropped by the node: once a replicate batch has waited the peer
// timeout, or once what it left unanswered passes --peer-backlog-bytes.
// The peer is tests/attack/rogue_chat.cpp in --silent mode on a plaintext
// cluster port; it exits 3 if it is still connected after its bound. Real
// peers of the same node keep their connection, and every message is acked.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { connect, unique } from './lib/client.mjs';
import { metrics } from './lib/http.mjs';
import { cluster, startNode, waitPeerCount } from './lib/node.mjs';
import { ROGUE_CHAT_BIN, runRogueChat } from './lib/rogue.mjs';
import { cleanup, test } from './lib/test.mjs';

const SILENT_SECONDS = 30;

after(cleanup);

/** Calls `step` every `ms` until `done` settles; resolves to what `done` resolved to. */
async function repeatUntil(done, step, ms) {
  let finished = false;
  const result = done.finally(() => (finished = true));
  while (!finished) {
    await step();
    await Promise.race([result, sleep(ms)]);
  }
  return result;
}

test('a connected peer that answers no replicate batch is dropped after the peer timeout; real peers stay', { timeout: 60_000 }, async () => {
  assert.ok(fs.existsSync(ROGUE_CHAT_BIN), `the rogue peer tool is built at ${ROGUE_CHAT_BIN}`);
  const [a, b] = await cluster(2);
  const room = unique('silent');
  const alice = await connect(a, { user: unique('alice'), rooms: [room] });
  const bob = await connect(b, { user: unique('bob'), rooms: [room] });
  await alice.awaitJoined([room]);
  await bob.awaitJoined([room]);

  // Alice keeps talking until the rogue is cut off: its first batches may
  // go out before the node counts it as a peer.
  let said = 0;
  const rogue = await repeatUntil(
    runRogueChat(a, room, { args: ['--silent', String(SILENT_SECONDS)], timeoutMs: (SILENT_SECONDS + 10) * 1000 }),
    async () => {
      const ack = await alice.say(room, `while the rogue listens ${++said}`);
      await bob.next({ type: 'message', id: ack.id });
    },
    500,
  );
  assert.equal(rogue.code, 0, `the silent peer was dropped:\n${rogue.out}`);
  const batches = Number(/batches=(\d+)/.exec(rogue.out)?.[1] ?? 0);
  assert.ok(batches >= 1, `the node replicated to the silent peer before dropping it:\n${rogue.out}`);

  const m = await metrics(a);
  assert.equal(m.get('chat_peers_dropped_total'), 1, 'only the silent peer was dropped');
  assert.match(fs.readFileSync(a.logFile, 'utf8'), /dropping peer .*unanswered for \d+ ms/);
  // The real peer kept its connection and still gets and sends messages.
  await waitPeerCount(a, 1);
  assert.equal((await metrics(b)).get('chat_peers_dropped_total'), 0);
  const fromBob = await bob.say(room, 'b is still a peer');
  assert.equal((await alice.next({ type: 'message', id: fromBob.id })).text, 'b is still a peer');
});

test('a connected peer that leaves more than --peer-backlog-bytes unanswered is dropped before any timeout', { timeout: 60_000 }, async () => {
  // A peer timeout far beyond the rogue's own bound: only the byte bound can drop it.
  const node = await startNode({
    name: 'backlog',
    flags: { 'peer-timeout-ms': 120_000, 'peer-backlog-bytes': 8192, 'max-text-chars': 2000 },
  });
  const room = unique('backlog');
  const alice = await connect(node, { user: unique('alice'), rooms: [room] });
  await alice.awaitJoined([room]);

  // Acks wait for the only peer, the rogue: send without waiting for them.
  const sent = [];
  const rogue = await repeatUntil(
    runRogueChat(node, room, { args: ['--silent', String(SILENT_SECONDS)], timeoutMs: (SILENT_SECONDS + 10) * 1000 }),
    async () => {
      const clientId = unique('cid');
      sent.push(clientId);
      await alice.send({ type: 'message', room, text: 'x'.repeat(2000), client_id: clientId });
    },
    200,
  );
  assert.equal(rogue.code, 0, `the silent peer was dropped:\n${rogue.out}`);
  assert.match(fs.readFileSync(node.logFile, 'utf8'), /dropping peer .*bytes of replicates unanswered \(bound 8192\)/);
  assert.equal((await metrics(node)).get('chat_peers_dropped_total'), 1);

  // Once the peer is gone, every message is acked (stored here), none lost.
  for (const clientId of sent) {
    const ack = await alice.next((f) => f.type === 'ack' && f.client_id === clientId);
    assert.ok(ack.id, `message ${clientId} acked`);
  }
});
