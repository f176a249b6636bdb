// A node dies without a word (SIGKILL) and comes back.
//
// Three nodes k1, k2, k3 (--peer-timeout-ms 3000). Room R: alice on k1, bob
// on k2, carol only on k3, dave on k2 and on k3. Room R2: frank on k1, carol
// on k3. The tests run in order and share this state.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  CLUSTER_QUIET_MS,
  CONVERGE_MS,
  assertDeliveredOnce,
  converge,
  sameHistoryEverywhere,
} from './lib/checks.mjs';
import { connect, unique } from './lib/client.mjs';
import { roomHistory } from './lib/http.mjs';
import { cluster, waitPeerCount } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';

/** Peer timeout (3 s) plus a wide margin for a loaded 2-core machine. */
const DOWN_DETECTED_MS = 15_000;

const R = unique('R');
const R2 = unique('R2');
const U = {
  alice: unique('alice'),
  bob: unique('bob'),
  carol: unique('carol'),
  dave: unique('dave'),
  frank: unique('frank'),
  gina: unique('gina'),
};

let k1, k2, k3;
let alice, bob, carol, dave2, dave3, frank;
const sentR = []; // acks of every message published in R, with `from`: the client
let countR2 = 0;

before(async () => {
  [k1, k2, k3] = await cluster(3, { prefix: 'k' });
});
after(cleanup);

test('setup: clients on every node, presence converged, the same history everywhere', async () => {
  alice = await connect(k1, { user: U.alice, rooms: [R] });
  frank = await connect(k1, { user: U.frank, rooms: [R2] });
  bob = await connect(k2, { user: U.bob, rooms: [R] });
  dave2 = await connect(k2, { user: U.dave, rooms: [R] });
  carol = await connect(k3, { user: U.carol, rooms: [R, R2] });
  dave3 = await connect(k3, { user: U.dave, rooms: [R] });
  for (const c of [alice, bob, dave2, dave3]) await c.awaitJoined([R]);
  await frank.awaitJoined([R2]);
  await carol.awaitJoined([R, R2]);
  await converge([alice, bob, carol, dave2, dave3], R, [U.alice, U.bob, U.carol, U.dave]);
  await converge([frank, carol], R2, [U.frank, U.carol]);

  for (let i = 0; i < 2; i++) {
    sentR.push({ ...(await alice.say(R, `alice ${i}`)), from: alice });
    sentR.push({ ...(await carol.say(R, `carol ${i}`)), from: carol });
  }
  await carol.say(R2, 'carol in R2');
  await frank.say(R2, 'frank in R2');
  countR2 = 2;
  await sameHistoryEverywhere([k1, k2, k3], R, sentR.length);
  await sameHistoryEverywhere([k1, k2, k3], R2, countR2);
});

test('after SIGKILL of k3 its users leave every room everywhere; a user still on k2 stays', async () => {
  const t0 = Date.now();
  await k3.crash();

  await alice.next({ type: 'presence', room: R, user: U.carol, state: 'leave' }, DOWN_DETECTED_MS);
  await bob.next({ type: 'presence', room: R, user: U.carol, state: 'leave' }, DOWN_DETECTED_MS);
  await dave2.next({ type: 'presence', room: R, user: U.carol, state: 'leave' }, DOWN_DETECTED_MS);
  await frank.next({ type: 'presence', room: R2, user: U.carol, state: 'leave' }, DOWN_DETECTED_MS);
  const elapsed = Date.now() - t0;
  assert.ok(elapsed < DOWN_DETECTED_MS, `carol left after ${elapsed} ms`);

  // The clients of k3 lost their connections.
  await carol.closed(DOWN_DETECTED_MS);
  await dave3.closed(DOWN_DETECTED_MS);

  // dave is still connected on k2: nobody is told that dave left.
  await sleep(CLUSTER_QUIET_MS);
  for (const c of [alice, bob, dave2]) {
    assert.deepEqual(c.seen({ type: 'presence', user: U.dave, state: 'leave' }), [], `${c.label}: dave did not leave`);
    assert.equal(c.seen({ type: 'presence', user: U.carol, state: 'leave' }).length, 1, `${c.label}: carol left once`);
  }
});

test('the survivors see one peer and keep chatting without loss or duplicates', async () => {
  assert.deepEqual(await waitPeerCount(k1, 1, DOWN_DETECTED_MS), [k2.name]);
  assert.deepEqual(await waitPeerCount(k2, 1, DOWN_DETECTED_MS), [k1.name]);

  const talkers = [alice, bob, dave2];
  const acks = (
    await Promise.all(
      talkers.map(async (c) => {
        const out = [];
        for (let i = 0; i < 3; i++) out.push({ ...(await c.say(R, `${c.welcome.user} while k3 is down ${i}`)), from: c });
        return out;
      }),
    )
  ).flat();
  const r2ack = await frank.say(R2, 'frank alone in R2');
  sentR.push(...acks);
  countR2 += 1;

  // Every talker has every message of R but its own exactly once, from before the crash too.
  const othersOf = (c) => sentR.filter((a) => a.from !== c).map((a) => a.id);
  for (const c of talkers) for (const id of othersOf(c)) await c.next({ type: 'message', id }, CONVERGE_MS);
  await sleep(CLUSTER_QUIET_MS);
  for (const c of talkers) assertDeliveredOnce(c, othersOf(c));
  await sameHistoryEverywhere([k1, k2], R, sentR.length);
  const h2 = await sameHistoryEverywhere([k1, k2], R2, countR2);
  assert.equal(h2.at(-1).id, r2ack.id);
});

test('k3 restarts on its ports, rejoins, has the full history and serves new clients', async () => {
  await k3.start(); // waits for /readyz 200
  assert.deepEqual((await waitPeerCount(k3, 2, CONVERGE_MS)).sort(), [k1.name, k2.name].sort());
  await waitPeerCount(k1, 2, CONVERGE_MS);
  await waitPeerCount(k2, 2, CONVERGE_MS);

  // Including what was said while it was down.
  const historyR = await sameHistoryEverywhere([k1, k2, k3], R, sentR.length);
  await sameHistoryEverywhere([k1, k2, k3], R2, countR2);

  const gina = await connect(k3, { user: U.gina, rooms: [R] });
  const { subscribed, history } = (await gina.awaitJoined([R]))[R];
  assert.deepEqual(
    history.messages.map((m) => m.id),
    historyR.map((m) => m.id),
    'a new client on k3 gets the full history',
  );
  assert.ok(!subscribed.members.includes(U.carol), 'carol is gone');

  await converge([alice, bob, dave2, gina], R, [U.alice, U.bob, U.dave, U.gina]);
  const fromAlice = await alice.say(R, 'welcome back k3');
  const fromGina = await gina.say(R, 'hello from k3');
  sentR.push({ ...fromAlice, from: alice }, { ...fromGina, from: gina });
  await gina.next({ type: 'message', id: fromAlice.id }, CONVERGE_MS);
  for (const c of [alice, bob, dave2]) await c.next({ type: 'message', id: fromGina.id }, CONVERGE_MS);
  await bob.next({ type: 'message', id: fromAlice.id }, CONVERGE_MS);
  await sleep(CLUSTER_QUIET_MS);
  assert.equal(gina.seen({ type: 'message', id: fromAlice.id }).length, 1);
  assert.equal(gina.seen('message').length, 1, 'gina got only the live message');
  for (const c of [alice, bob, dave2]) assert.equal(c.seen({ type: 'message', id: fromGina.id }).length, 1);
  assert.equal(bob.seen({ type: 'message', id: fromAlice.id }).length, 1);

  for (const c of [alice, bob, dave2]) assertDeliveredOnce(c, sentR.filter((a) => a.from !== c).map((a) => a.id));
  await sameHistoryEverywhere([k1, k2, k3], R, sentR.length);
  assert.deepEqual(await roomHistory(k3, R2), await roomHistory(k1, R2));
});
