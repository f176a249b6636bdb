// A message that reaches a node after newer ones of its room (a busy room on
// a node that fell behind) is older than everything that node's history
// window keeps. It is still a live message for the recipients its
// originator named there: they must get it, once.
//
// Three nodes with a history window of one message per room, so that a few
// messages arriving out of order are enough. l2 is frozen (SIGSTOP, well
// under the peer timeout), three times, while a on l1 and c on l3 publish together; when it
// wakes up it reads both peers' backlogs in whatever order, and b, on l2,
// must still get every message of both exactly once.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { CLUSTER_QUIET_MS, CONVERGE_MS, assertDeliveredOnce, converge } from './lib/checks.mjs';
import { connect, unique } from './lib/client.mjs';
import { cluster, waitFor } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';

const PER_SENDER = 100;
const ROUNDS = 3;
/** Short of the peer timeout (3 s) and the replicate timeout (4 s): l2 stays a peer. */
const FREEZE_MS = 800;

let l1, l2, l3;

before(async () => {
  [l1, l2, l3] = await cluster(3, { prefix: 'l', flags: { history: 1, burst: 1000, 'rate-per-s': 1000 } });
});
after(cleanup);

/** Sends `n` messages without waiting in between; resolves to their acks. */
async function burst(client, room, n, label) {
  const ids = [];
  for (let i = 0; i < n; i++) ids.push(unique(`${label}${i}-`));
  await Promise.all(ids.map((cid, i) => client.send({ type: 'message', room, text: `${label} ${i}`, client_id: cid })));
  const acks = [];
  for (const cid of ids) acks.push(await client.next({ type: 'ack', client_id: cid }, CONVERGE_MS));
  return acks;
}

test('messages that reach a node older than its history window are still delivered there, once', { timeout: 60_000 }, async () => {
  const R = unique('R');
  const [A, B, C] = [unique('a'), unique('b'), unique('c')];
  const a = await connect(l1, { user: A, rooms: [R] });
  const b = await connect(l2, { user: B, rooms: [R] });
  const c = await connect(l3, { user: C, rooms: [R] });
  for (const x of [a, b, c]) await x.awaitJoined([R]);
  await converge([a, b, c], R, [A, B, C]);

  // The order l2 reads the two backlogs in is the kernel's and CAF's: a few
  // rounds make an out-of-order arrival (and so the loss) all but certain.
  const acks = [];
  for (let round = 0; round < ROUNDS; round++) {
    l2.freeze();
    try {
      const sending = Promise.all([burst(a, R, PER_SENDER, `a${round}.`), burst(c, R, PER_SENDER, `c${round}.`)]);
      await sleep(FREEZE_MS);
      l2.thaw();
      acks.push(...(await sending).flat());
    } finally {
      l2.thaw();
    }
  }
  const ids = acks.map((k) => k.id);
  assert.equal(new Set(ids).size, 2 * ROUNDS * PER_SENDER, 'every publish acked under its own id');

  await waitFor(() => b.seen('message').length >= ids.length, CONVERGE_MS, {
    what: () => `b to get ${ids.length} messages (has ${b.seen('message').length})`,
  });
  await sleep(CLUSTER_QUIET_MS);
  assertDeliveredOnce(b, ids);
  // The senders get each other's, never their own.
  assertDeliveredOnce(a, acks.filter((k) => !a.seen({ type: 'ack', id: k.id }).length).map((k) => k.id));
  assertDeliveredOnce(c, acks.filter((k) => !c.seen({ type: 'ack', id: k.id }).length).map((k) => k.id));
});
