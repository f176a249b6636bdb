// Three nodes that list each other in --peers: delivery across nodes exactly
// once (the regression test for the duplicate broadcast), presence, typing,
// read receipts, cluster-wide members, identical histories, and retries that
// land on another node.
//
// Cluster state spreads asynchronously. Before a test publishes, it waits
// until every client's view of its room (subscribed.members plus presence)
// lists every user of the room: then every node knows every member.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { CLUSTER_QUIET_MS, CONVERGE_MS, assertDeliveredOnce, converge, sameHistoryEverywhere } from './lib/checks.mjs';
import { connect, unique } from './lib/client.mjs';
import { roomHistory } from './lib/http.mjs';
import { cluster, clusterInfo, waitFor } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';

let nodes;

before(async () => {
  nodes = await cluster(3, { prefix: 'c' });
});
after(cleanup);

test('each node lists the two others in /api/cluster', async () => {
  for (const n of nodes) {
    const info = await clusterInfo(n);
    assert.equal(info.node, n.name);
    assert.ok(Array.isArray(info.peers));
    assert.deepEqual(
      info.peers.map((p) => p.node).sort(),
      nodes.filter((o) => o !== n).map((o) => o.name).sort(),
    );
  }
});

test('every message reaches every other subscriber of its room exactly once, across nodes, never the sender', async () => {
  const A = unique('roomA');
  const B = unique('roomB');
  // Two clients per node in A, one per node in B.
  const inA = [];
  const inB = [];
  for (const [i, n] of nodes.entries()) {
    for (const tag of ['x', 'y']) inA.push(await connect(n, { user: unique(`a${i + 1}${tag}`), rooms: [A] }));
    inB.push(await connect(n, { user: unique(`b${i + 1}`), rooms: [B] }));
  }
  for (const c of inA) await c.awaitJoined([A]);
  for (const c of inB) await c.awaitJoined([B]);
  await converge(inA, A, inA.map((c) => c.welcome.user));
  await converge(inB, B, inB.map((c) => c.welcome.user));

  // Everybody publishes 3 messages at the same time.
  const everyone = [...inA.map((c) => [c, A]), ...inB.map((c) => [c, B])];
  const sent = (
    await Promise.all(
      everyone.map(async ([c, room]) => {
        const acks = [];
        for (let k = 0; k < 3; k++) {
          const text = `${c.welcome.user} #${k}`;
          acks.push({ ...(await c.say(room, text)), text, from: c });
        }
        return acks;
      }),
    )
  ).flat();

  const expectedFor = (c, room) => sent.filter((s) => s.room === room && s.from !== c);
  await waitFor(
    () => everyone.every(([c, room]) => expectedFor(c, room).every((s) => c.seen({ type: 'message', id: s.id }).length > 0)),
    CONVERGE_MS,
    { what: 'every message at every other subscriber' },
  );
  await sleep(CLUSTER_QUIET_MS); // late duplicates would arrive now

  for (const [c, room] of everyone) {
    const expected = expectedFor(c, room);
    assertDeliveredOnce(c, expected.map((s) => s.id));
    for (const s of expected) {
      const m = c.seen({ type: 'message', id: s.id })[0];
      assert.deepEqual(
        { room: m.room, user: m.user, text: m.text, ts: m.ts },
        { room, user: s.from.welcome.user, text: s.text, ts: s.ts },
      );
    }
  }
});

test('presence crosses nodes: first connection anywhere joins, a second one elsewhere is silent, the last leaves', async () => {
  const room = unique('pres');
  const obs1 = await connect(nodes[0], { user: unique('obs1'), rooms: [room] });
  const obs3 = await connect(nodes[2], { user: unique('obs3'), rooms: [room] });
  await obs1.awaitJoined([room]);
  await obs3.awaitJoined([room]);
  await converge([obs1, obs3], room, [obs1.welcome.user, obs3.welcome.user]);

  const U = unique('roamer');
  const onN2 = await connect(nodes[1], { user: U, rooms: [room] });
  await onN2.awaitJoined([room]);
  await obs1.next({ type: 'presence', room, user: U, state: 'join' }, CONVERGE_MS);
  await obs3.next({ type: 'presence', room, user: U, state: 'join' }, CONVERGE_MS);

  const onN3 = await connect(nodes[2], { user: U, rooms: [room] });
  const joined = (await onN3.awaitJoined([room]))[room];
  assert.deepEqual(
    [...joined.subscribed.members].sort(),
    [U, obs1.welcome.user, obs3.welcome.user].sort(),
    'members cluster-wide, each once',
  );
  await obs1.expectNothing('presence', CLUSTER_QUIET_MS);
  await obs3.expectNothing('presence', 0);

  await onN2.close();
  await obs1.expectNothing('presence', CLUSTER_QUIET_MS);
  await obs3.expectNothing('presence', 0);

  await onN3.close();
  await obs1.next({ type: 'presence', room, user: U, state: 'leave' }, CONVERGE_MS);
  await obs3.next({ type: 'presence', room, user: U, state: 'leave' }, CONVERGE_MS);
  for (const u of [onN2, onN3]) assert.deepEqual(u.seen({ type: 'presence', user: U }), []);
});

test('typing and read receipts cross nodes and are not echoed', async () => {
  const room = unique('typ');
  const cs = [];
  for (const n of nodes) cs.push(await connect(n, { user: unique(`t-${n.name}`), rooms: [room] }));
  for (const c of cs) await c.awaitJoined([room]);
  await converge(cs, room, cs.map((c) => c.welcome.user));
  const [t1, t2, t3] = cs;

  await t1.send({ type: 'typing', room, state: 'start' });
  for (const c of [t2, t3]) {
    const f = await c.next('typing', CONVERGE_MS);
    assert.deepEqual({ room: f.room, user: f.user, state: f.state }, { room, user: t1.welcome.user, state: 'start' });
  }

  const ack = await t3.say(room, 'read this');
  await t2.next({ type: 'message', id: ack.id }, CONVERGE_MS);
  await t2.send({ type: 'read', room, id: ack.id });
  for (const c of [t1, t3]) {
    const f = await c.next('read_receipt', CONVERGE_MS);
    assert.deepEqual({ room: f.room, user: f.user, id: f.id }, { room, user: t2.welcome.user, id: ack.id });
  }

  await sleep(CLUSTER_QUIET_MS);
  assert.equal(t1.seen('typing').length, 0, 'typing not echoed');
  assert.equal(t2.seen('read_receipt').length, 0, 'read receipt not echoed');
  for (const c of [t2, t3]) assert.equal(c.seen('typing').length, 1, `${c.label}: one typing frame`);
  for (const c of [t1, t3]) assert.equal(c.seen('read_receipt').length, 1, `${c.label}: one read receipt`);
});

test('subscribed.members is cluster-wide and lists a user connected on two nodes once', async () => {
  const room = unique('mem');
  const X = unique('twice');
  const Y = unique('once');
  const x1 = await connect(nodes[0], { user: X, rooms: [room] });
  const x2 = await connect(nodes[1], { user: X, rooms: [room] });
  const y = await connect(nodes[1], { user: Y, rooms: [room] });
  for (const c of [x1, x2, y]) await c.awaitJoined([room]);

  const z = await connect(nodes[2], { user: unique('late'), rooms: '' });
  let members = [];
  await waitFor(
    async () => {
      members = (await z.subscribe([room]))[room].subscribed.members;
      return members.includes(X) && members.includes(Y);
    },
    CONVERGE_MS,
    { interval: 200, what: () => `members of ${room} on ${nodes[2].name} to list ${X} and ${Y} (have ${members})` },
  );
  assert.deepEqual([...members].sort(), [X, Y, z.welcome.user].sort(), 'each member once');
});

test('every node holds the same history for a room, ordered by ts then id', async () => {
  const room = unique('hist');
  const cs = [];
  for (const n of nodes) cs.push(await connect(n, { user: unique(`h-${n.name}`), rooms: [room] }));
  for (const c of cs) await c.awaitJoined([room]);
  await converge(cs, room, cs.map((c) => c.welcome.user));

  const acks = (
    await Promise.all(cs.map(async (c) => {
      const out = [];
      for (let k = 0; k < 4; k++) out.push(await c.say(room, `${c.welcome.user} ${k}`));
      return out;
    }))
  ).flat();
  const history = await sameHistoryEverywhere(nodes, room, acks.length);
  assert.deepEqual(history.map((m) => m.id).sort(), acks.map((a) => a.id).sort());
  for (const a of acks) {
    const m = history.find((h) => h.id === a.id);
    assert.equal(m.ts, a.ts, 'the acked ts is the stored ts');
  }
});

test('a client_id retry through another node gets the original id and is not delivered again', async () => {
  const room = unique('retry');
  const U = unique('retrier');
  const u1 = await connect(nodes[0], { user: U, rooms: [room] });
  const obs = await connect(nodes[2], { user: unique('obs'), rooms: [room] });
  await u1.awaitJoined([room]);
  await obs.awaitJoined([room]);
  await converge([u1, obs], room, [U, obs.welcome.user]);

  const first = await u1.say(room, 'say it once', { clientId: 'cross-1' });
  await obs.next({ type: 'message', id: first.id }, CONVERGE_MS);
  // The reconnecting client comes back on node 2 once node 2 has the message.
  await waitFor(async () => (await roomHistory(nodes[1], room)).some((m) => m.id === first.id), CONVERGE_MS, {
    what: `${nodes[1].name} to have ${first.id}`,
  });
  const u2 = await connect(nodes[1], { user: U, rooms: [room] });
  await u2.awaitJoined([room]);
  const again = await u2.say(room, 'say it once', { clientId: 'cross-1' });
  assert.equal(again.id, first.id);
  assert.equal(again.ts, first.ts);

  await sleep(CLUSTER_QUIET_MS);
  assert.equal(obs.seen({ type: 'message', id: first.id }).length, 1, 'delivered once');
  assert.equal(obs.seen('message').length, 1, 'no second message');
  const history = await sameHistoryEverywhere(nodes, room, 1);
  assert.equal(history[0].id, first.id);
});
