// Checks shared by the cluster tests.

import assert from 'node:assert/strict';

import { roomHistory } from './http.mjs';
import { waitFor } from './node.mjs';

/** Time for cluster state (membership, messages, histories) to spread. */
export const CONVERGE_MS = 15_000;
/** How long to listen for frames that must not come from another node. */
export const CLUSTER_QUIET_MS = 1000;

/** History order: ts, then id compared as plain byte strings. */
export function compareHistory(a, b) {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  return Buffer.compare(Buffer.from(a.id, 'utf8'), Buffer.from(b.id, 'utf8'));
}

export function assertHistoryOrder(history, what = 'history') {
  for (let i = 1; i < history.length; i++) {
    assert.ok(
      compareHistory(history[i - 1], history[i]) < 0,
      `${what} not ordered by ts then id at ${i}: ${JSON.stringify(history.slice(i - 1, i + 1))}`,
    );
  }
}

/**
 * Waits until each client's view of `room` (subscribed.members plus the
 * presence frames since) holds every user in `users`, then takes the
 * presence frames of that room out of the inboxes.
 */
export async function converge(clients, room, users, timeoutMs = CONVERGE_MS) {
  await waitFor(
    () => clients.every((c) => users.every((u) => c.presentUsers(room).has(u))),
    timeoutMs,
    {
      what: () =>
        `every client of ${room} to see ${users.join(', ')} (views: ${clients
          .map((c) => `${c.label}: ${[...c.presentUsers(room)].join(' ')}`)
          .join('; ')})`,
    },
  );
  for (const c of clients) c.collect({ type: 'presence', room });
}

/**
 * Waits until `room` has `count` messages on each of `nodes`, then asserts
 * that the histories are equal and ordered; returns the history.
 */
export async function sameHistoryEverywhere(nodes, room, count, timeoutMs = CONVERGE_MS) {
  let histories = [];
  await waitFor(
    async () => {
      histories = await Promise.all(nodes.map((n) => roomHistory(n, room)));
      return histories.every((h) => h.length === count);
    },
    timeoutMs,
    { what: () => `${count} messages of ${room} on ${nodes.map((n) => n.name)} (have ${histories.map((h) => h.length)})` },
  );
  for (let i = 1; i < histories.length; i++) {
    assert.deepEqual(histories[i], histories[0], `history of ${room} on ${nodes[i].name} equals ${nodes[0].name}'s`);
  }
  assertHistoryOrder(histories[0], `history of ${room}`);
  return histories[0];
}

/**
 * Asserts that `client` received each id in `expectedIds` exactly once as a
 * `message` and no other message.
 */
export function assertDeliveredOnce(client, expectedIds) {
  const counts = new Map();
  for (const m of client.seen('message')) counts.set(m.id, (counts.get(m.id) ?? 0) + 1);
  assert.deepEqual([...counts.keys()].sort(), [...expectedIds].sort(), `${client.label}: the set of messages received`);
  for (const [id, n] of counts) assert.equal(n, 1, `${client.label} got ${id} ${n} times`);
}
