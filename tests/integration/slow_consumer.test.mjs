// A reader that stops reading is closed with 1008 "slow consumer" once its
// outgoing queue passes --max-queue-bytes; the others in the room get every
// message.
//
// The slow client pauses its socket: the node's writes fill the kernel
// buffers (a few MB on loopback), then the node's own queue. The sender
// publishes 30 kB messages one at a time and waits until the fast reader has
// each one before the next, so that the fast reader's queue never holds more
// than one message (well under the 64 kB bound) however slow this machine is.
// Once the slow client reads again it must find a 1008 close, having missed
// messages, and the room must be told that the slow user left.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { connect, unique } from './lib/client.mjs';
import { metrics } from './lib/http.mjs';
import { startNode } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';

const TEXT_CHARS = 30_000;
const MAX_MESSAGES = 800; // 24 MB: far more than loopback buffers hold

let node;

before(async () => {
  node = await startNode({
    name: 'slow',
    flags: { 'max-queue-bytes': 65536, 'rate-per-s': 1000, burst: 1000, 'max-text-chars': TEXT_CHARS },
  });
});
after(cleanup);

test('a reader that stops reading is closed with 1008 slow consumer; a fast reader gets every message', { timeout: 90_000 }, async (t) => {
  const room = unique('flood');
  const SLOW = unique('slowpoke');
  const slow = await connect(node, { user: SLOW, rooms: [room] });
  const fast = await connect(node, { user: unique('fast'), rooms: [room] });
  const sender = await connect(node, { user: unique('sender'), rooms: [room] });
  for (const c of [slow, fast, sender]) await c.awaitJoined([room]);

  slow.pause();
  const sent = [];
  const slowLeft = () => fast.seen({ type: 'presence', room, user: SLOW, state: 'leave' }).length > 0;
  // The node may announce the slow user's leave as soon as it drops the
  // connection; then there is no point in sending more.
  while (sent.length < MAX_MESSAGES && !slowLeft()) {
    const i = sent.length;
    const ack = await sender.say(room, `${i}:`.padEnd(TEXT_CHARS, 'x'));
    sent.push(ack.id);
    await fast.next({ type: 'message', id: ack.id }, 10_000);
  }
  t.diagnostic(`published ${sent.length} messages of ${TEXT_CHARS} chars (${slowLeft() ? 'the slow user had left' : 'no leave yet'})`);

  // A few more, sent when the slow reader is far past its bound in any case.
  for (let i = 0; i < 5; i++) {
    const ack = await sender.say(room, `after ${i}`);
    sent.push(ack.id);
    await fast.next({ type: 'message', id: ack.id });
  }

  // The paused reader, once it reads again, finds its connection closed.
  slow.resume();
  const info = await slow.closed(20_000);
  assert.equal(info.code, 1008);
  assert.equal(info.reason, 'slow consumer');
  const slowGot = slow.seen('message').length;
  t.diagnostic(`the slow reader had received ${slowGot} messages`);
  assert.ok(slowGot < sent.length, `the slow reader got ${slowGot} of ${sent.length} messages: it was not dropped`);
  await fast.next({ type: 'presence', room, user: SLOW, state: 'leave' }, 10_000);

  // The others got everything, exactly once and in order.
  await fast.expectNothing('message');
  assert.deepEqual(fast.seen('message').map((m) => m.id), sent, 'the fast reader got every message once, in order');
  assert.equal(sender.seen('message').length, 0, 'never echoed to the sender');
  assert.ok(sender.isOpen && fast.isOpen, 'the others stay connected');
  const m = await metrics(node);
  assert.equal(m.get('chat_connections_closed_total{reason="slow_consumer"}'), 1, 'counted as closed: slow_consumer');
  assert.equal(m.get('chat_drops_slow_consumer_total'), 1);
});
