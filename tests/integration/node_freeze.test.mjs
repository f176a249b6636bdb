// A node that falls silent (SIGSTOP) with its sockets open: only heartbeats
// can tell. Its peers must declare it down within the peer timeout, and when
// it wakes up (SIGCONT) the cluster heals: it is a peer again, its users are
// present again, and a message it missed reaches its clients once.
//
// Three nodes f1, f2, f3 (--peer-timeout-ms 3000). Room R: a on f1, b on f2,
// z only on f3.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { CLUSTER_QUIET_MS, CONVERGE_MS, converge, sameHistoryEverywhere } from './lib/checks.mjs';
import { connect, unique } from './lib/client.mjs';
import { cluster, waitPeerCount } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';

/** Peer timeout (3 s) plus a wide margin for a loaded 2-core machine. */
const DOWN_DETECTED_MS = 15_000;
const HEAL_MS = 20_000;

let f1, f2, f3;

before(async () => {
  [f1, f2, f3] = await cluster(3, { prefix: 'f' });
});
after(cleanup);

test('a frozen node is declared down by heartbeats, and heals when it wakes up', { timeout: 90_000 }, async () => {
  const R = unique('R');
  const [A, B, Z] = [unique('a'), unique('b'), unique('z')];
  const a = await connect(f1, { user: A, rooms: [R] });
  const b = await connect(f2, { user: B, rooms: [R] });
  const z = await connect(f3, { user: Z, rooms: [R] });
  for (const c of [a, b, z]) await c.awaitJoined([R]);
  await converge([a, b, z], R, [A, B, Z]);
  const before = await a.say(R, 'before the freeze');
  await z.next({ type: 'message', id: before.id }, CONVERGE_MS);

  f3.freeze();
  await a.next({ type: 'presence', room: R, user: Z, state: 'leave' }, DOWN_DETECTED_MS);
  await b.next({ type: 'presence', room: R, user: Z, state: 'leave' }, DOWN_DETECTED_MS);
  assert.deepEqual(await waitPeerCount(f1, 1, DOWN_DETECTED_MS), [f2.name]);
  assert.deepEqual(await waitPeerCount(f2, 1, DOWN_DETECTED_MS), [f1.name]);

  // The survivors go on; z misses this one while f3 sleeps.
  const during = await a.say(R, 'while f3 is frozen');
  await b.next({ type: 'message', id: during.id }, CONVERGE_MS);

  f3.thaw();
  await waitPeerCount(f1, 2, HEAL_MS);
  await waitPeerCount(f2, 2, HEAL_MS);
  await waitPeerCount(f3, 2, HEAL_MS);
  await a.next({ type: 'presence', room: R, user: Z, state: 'join' }, HEAL_MS);
  await b.next({ type: 'presence', room: R, user: Z, state: 'join' }, HEAL_MS);

  // The message z missed reaches it once, late; the histories agree again.
  await z.next({ type: 'message', id: during.id }, HEAL_MS);
  await sameHistoryEverywhere([f1, f2, f3], R, 2, HEAL_MS);

  // And live traffic crosses the healed cluster once.
  const afterwards = await b.say(R, 'after the thaw');
  await a.next({ type: 'message', id: afterwards.id }, CONVERGE_MS);
  await z.next({ type: 'message', id: afterwards.id }, CONVERGE_MS);
  await sleep(CLUSTER_QUIET_MS);
  for (const id of [before.id, during.id, afterwards.id]) {
    assert.equal(z.seen({ type: 'message', id }).length, 1, `z got ${id} once`);
  }
  assert.equal(a.seen({ type: 'message', id: afterwards.id }).length, 1);
  assert.equal(b.seen({ type: 'message', id: during.id }).length, 1, 'b got the message sent during the freeze once');
});
