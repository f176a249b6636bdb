// End to end: direct messages (protocol 1.1) in the chat page, in headless
// Chromium, two users on two nodes.
//
// Two nodes on 127.0.0.1; alice's page is loaded from n1, bob's from n2.
// Alice sets her profile (display name and status) in the page. Both join
// the lobby; alice starts a conversation by clicking bob in the presence
// list. Bob closes his page; alice writes to him twice. Bob opens
// the page again, on n2: his "Direct messages" list shows alice with an
// unread badge of 2 (from the inbox the node sends after welcome). He opens
// the conversation: he sees both messages, the badge clears, and alice's
// page shows "seen by bob" under her last message. Bob's page shows alice
// by her display name (DM list, title, messages, presence) and her status. A new message from
// alice while bob looks at another room raises his badge again.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { cluster, stopAll } from '../integration/lib/node.mjs';
import { closeAll, launchUser } from './lib/browser.mjs';
import { artifact, clearArtifacts, presence, rows, test, waitFor } from './lib/harness.mjs';

let n1, n2, A, B;
const users = () => [A, B];
const DM = 'dm:alice:bob'; // alice < bob

before(async () => {
  clearArtifacts('dm-');
  [n1, n2] = await cluster(2, { prefix: 'd' });
  A = await launchUser('alice');
  B = await launchUser('bob');
});

after(async () => {
  await closeAll();
  await stopAll();
});

const byTestId = (user, id) => user.page.locator(`[data-testid="${id}"]`);
const dmItem = (user, peer) => user.page.locator(`[data-testid=dm-item][data-user="${peer}"]`);

async function join(user, node, name) {
  await user.page.goto(`${node.baseUrl}/`);
  await byTestId(user, 'name-input').fill(name);
  await byTestId(user, 'join-button').click();
  await user.page.locator('[data-testid=status][data-state=connected]').waitFor({ timeout: 15_000 });
}

async function send(user, text) {
  await byTestId(user, 'message-input').fill(text);
  await byTestId(user, 'send-button').click();
}

/** The badge of `peer`'s conversation: its text, or '' while hidden. */
function badge(user, peer) {
  return dmItem(user, peer).evaluate((li) => {
    const b = li.querySelector('[data-testid=dm-unread]');
    return b.hidden ? '' : b.textContent;
  });
}

test('alice writes to bob while his page is closed; bob sees the unread badge on the other node, reads, the badge clears and alice sees it read', { timeout: 90_000, users }, async () => {
  await join(A, n1, 'alice');
  await byTestId(A, 'profile-name-input').fill('Alice Liddell');
  await byTestId(A, 'profile-status-input').fill('down the rabbit hole');
  await byTestId(A, 'profile-save').click();
  await A.page.locator('.toast', { hasText: 'Profile saved' }).waitFor({ timeout: 10_000 });
  await join(B, n2, 'bob');
  await waitFor(async () => (await presence(A)).includes('bob'), 15_000, { what: 'bob in alice\'s presence list' });

  // Alice starts the conversation from the presence list.
  await A.page.locator('[data-testid=presence-item][data-user=bob] button').click();
  await dmItem(A, 'bob').waitFor({ timeout: 5000 });
  assert.equal(await A.page.locator('#room-title').textContent(), '@ bob');
  assert.equal(await byTestId(A, 'room-list').locator(`[data-room="${DM}"]`).count(), 0, 'a DM is not listed among rooms');

  // Bob's page is closed.
  await B.page.goto('about:blank');
  await waitFor(async () => !(await A.page.evaluate(() => window.chatDebug.state.rooms.get('lobby')?.members.has('bob'))), 15_000, {
    what: 'bob gone from the lobby',
  });
  await send(A, 'hi bob, are you there?');
  await send(A, 'call me when you read this');
  for (const text of ['hi bob, are you there?', 'call me when you read this']) {
    await waitFor(async () => (await rows(A)).some((r) => r.text === text && r.state === 'sent'), 10_000, { what: `"${text}" acked` });
  }

  // Bob opens the page on his node: the conversation is there, with 2 unread.
  await B.page.goto(`${n2.baseUrl}/`);
  await B.page.locator('[data-testid=status][data-state=connected]').waitFor({ timeout: 15_000 });
  await dmItem(B, 'alice').waitFor({ timeout: 10_000 });
  // Her profile, written on n1, is read from n2.
  await waitFor(async () => (await dmItem(B, 'alice').textContent()).includes('Alice Liddell'), 10_000, {
    what: 'alice\'s display name in bob\'s DM list',
  });
  await waitFor(async () => (await badge(B, 'alice')) === '2', 10_000, { what: 'bob\'s badge to read 2' });
  assert.equal(await B.page.evaluate(() => document.title), '(2) Chat');
  await B.page.screenshot({ path: artifact('dm-bob-unread.png') });

  // He opens it and reads.
  await dmItem(B, 'alice').locator('button').click();
  await waitFor(async () => (await rows(B)).filter((r) => r.user === 'alice').length === 2, 10_000, { what: 'both messages on bob\'s page' });
  assert.equal(await B.page.locator('#room-title').textContent(), '@ Alice Liddell');
  assert.equal(await B.page.locator('[data-testid=message][data-user=alice] .user').first().textContent(), 'Alice Liddell');
  await waitFor(async () => (await badge(B, 'alice')) === '', 10_000, { what: 'bob\'s badge to clear' });
  await waitFor(
    async () => (await A.page.locator('[data-testid=message-list] [data-testid=message]').last().textContent()).includes('seen by bob'),
    10_000,
    { what: 'alice to see "seen by bob" under her last message' },
  );
  await A.page.screenshot({ path: artifact('dm-alice-seen.png') });

  // Bob looks at the lobby; a new message raises his badge again.
  await B.page.locator('[data-testid=room-item][data-room=lobby] .room-select').click();
  const aliceThere = B.page.locator('[data-testid=presence-item][data-user=alice]');
  await waitFor(async () => (await aliceThere.textContent().catch(() => '')).includes('down the rabbit hole'), 10_000, {
    what: 'alice\'s name and status in bob\'s presence list',
  });
  assert.ok((await aliceThere.textContent()).includes('Alice Liddell'));
  await send(A, 'one more');
  await waitFor(async () => (await badge(B, 'alice')) === '1', 10_000, { what: 'bob\'s badge to read 1' });
  for (const u of users()) assert.deepEqual(u.errors, [], `uncaught errors in ${u.label}'s page`);
});
