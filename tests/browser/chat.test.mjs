// End to end: the chat page in headless Chromium against a real cluster.
//
// Three nodes on 127.0.0.1 (each lists all three in --peers, peer timeout
// 3 s, discovery every 500 ms). Two users, alice and bob, each in their own
// Chromium with a fresh profile. Each reaches the cluster through its own
// front door (lib/front.mjs, a TCP forwarder standing where a load balancer
// stands): alice's prefers n1, then n3, then n2; bob's prefers n2, then n3,
// then n1. So alice is on n1 and bob on n2, and when n1 dies, alice's page,
// reconnecting to the address it was loaded from, lands on n3 by itself.
//
// The tests run in order and share the pages: join and chat, typing,
// markup shown as text, a node killed under alice, a phone-sized window,
// then n1 again (restarted) with alice's page loaded straight from it, no
// front door: when n1 is killed, the page finds n2 or n3 itself, from the
// node list it read from /api/cluster.
// Screenshots go to artifacts/ (git-ignored); with UPDATE_DOCS_SCREENSHOT=1
// the two-users picture is also copied to docs/images/chat.png.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';

import { cluster, clusterInfo, freePort, HOST, REPO, stopAll, waitPeerCount } from '../integration/lib/node.mjs';
import { closeAll, isAlive, launchUser, livePids } from './lib/browser.mjs';
import { Front } from './lib/front.mjs';
import {
  artifact, clearArtifacts, presence, recordRows, rowLog, rows, sideBySide, status, test, typingText, waitFor,
} from './lib/harness.mjs';

const TYPING = '…'; // the page writes "X is typing…" with a real ellipsis

let n1, n2, n3, frontA, frontB, A, B;
const users = () => [A, B];

before(async () => {
  clearArtifacts('');
  // Every node admits pages of every node and of both fronts (--allowed-origins),
  // as scripts/cluster.sh does: that is what lets a page fail over.
  const [portA, portB] = [await freePort(), await freePort()];
  [n1, n2, n3] = await cluster(3, { origins: [portA, portB].map((p) => `http://${HOST}:${p}`) });
  frontA = await new Front('alice', [n1, n3, n2], portA).start();
  frontB = await new Front('bob', [n2, n3, n1], portB).start();
  // One Chromium at a time: each is found by PID as the new child process.
  A = await launchUser('alice');
  B = await launchUser('bob');
  await A.page.clock.install(); // see holdTime
});

after(async () => {
  await closeAll();
  await Promise.all([frontA?.stop(), frontB?.stop()]);
  await stopAll();
});

// ---------------------------------------------------------------- helpers

const byTestId = (user, id) => user.page.locator(`[data-testid="${id}"]`);

// Alice's page runs on Playwright's clock: time flows as usual until a test
// holds it, which stops the page's timers, its reconnect backoff among them.
// That keeps her page "reconnecting" for as long as bob needs to write to
// her, whichever node it would dial next (a front that refused would not: the
// page then goes to the nodes it knows, past the front).
async function holdTime(user) {
  await user.page.clock.pauseAt((await user.page.evaluate(() => Date.now())) + 1000);
}

async function releaseTime(user) {
  await user.page.clock.resume();
}

async function join(user, front, name) {
  await user.page.goto(`${front.origin}/`);
  await byTestId(user, 'name-input').fill(name);
  await byTestId(user, 'join-button').click();
  await user.page.locator('[data-testid=status][data-state=connected]').waitFor({ timeout: 15_000 });
}

/** Types `text` into the composer and sends it with the button or the Enter key. */
async function send(user, text, { how = 'button' } = {}) {
  const input = byTestId(user, 'message-input');
  await input.fill(text);
  if (how === 'enter') await input.press('Enter');
  else await byTestId(user, 'send-button').click();
}

/** The rows of `user`'s page holding exactly `text`. */
async function rowsWithText(user, text) {
  return (await rows(user)).filter((r) => r.text === text);
}

/** Waits until `user` shows `text` from `from` exactly once with an id; returns that row. */
async function waitForMessage(user, from, text, timeoutMs = 10_000) {
  let found = [];
  return waitFor(
    async () => {
      found = await rowsWithText(user, text);
      return found.length === 1 && found[0].user === from && found[0].id ? found[0] : false;
    },
    timeoutMs,
    { what: () => `${user.label} to show "${text}" from ${from} exactly once (rows with that text: ${JSON.stringify(found)})` },
  );
}

/** Waits until the sender's own row for `text` is acked (data-state sent, an id); returns it. */
async function waitForSent(user, text, timeoutMs = 10_000) {
  let found = [];
  return waitFor(
    async () => {
      found = await rowsWithText(user, text);
      return found.length === 1 && found[0].state === 'sent' && found[0].id ? found[0] : false;
    },
    timeoutMs,
    { what: () => `${user.label}'s own "${text}" to be sent, once (rows with that text: ${JSON.stringify(found)})` },
  );
}

/** The page went sending -> sent for its own `text` (the rows it added, in order). */
async function assertSendingThenSent(user, text) {
  const states = (await rowLog(user, text)).map((r) => r.state);
  assert.equal(states[0], 'sending', `${user.label}'s "${text}" first appeared as ${states[0]} (states: ${states})`);
  assert.equal(states.at(-1), 'sent', `${user.label}'s "${text}" ended as ${states.at(-1)} (states: ${states})`);
  assert.ok(!states.includes('failed'), `states: ${states}`);
}

function assertUniqueIds(list, who) {
  const ids = list.filter((r) => r.id).map((r) => r.id);
  const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
  assert.deepEqual(dup, [], `${who} shows message ids more than once`);
}

async function assertNoPageErrors() {
  for (const u of users()) assert.deepEqual(u.errors, [], `uncaught errors in ${u.label}'s page`);
}

// ---------------------------------------------------------------- tests

// While alice's page is reconnecting: bob writes three messages (acked on
// his node), alice writes one that waits in her outbox as "sending", and
// nothing of bob's reaches her yet.
async function writeWhileAway(prefix) {
  const away = [1, 2, 3].map((i) => `${prefix}while you were away ${i}`);
  const awayIds = [];
  for (const text of away) {
    await send(B, text, { how: 'enter' });
    awayIds.push((await waitForSent(B, text, 15_000)).id);
  }
  const offline = `${prefix}written while reconnecting`;
  await send(A, offline);
  const pendingRow = await waitFor(async () => (await rowsWithText(A, offline))[0], 3000, { what: "alice's offline message row" });
  assert.equal(pendingRow.state, 'sending');
  assert.equal((await status(A)).state, 'reconnecting', "alice's page was still reconnecting while bob wrote");
  for (const text of away) assert.deepEqual(await rowsWithText(A, text), [], 'nothing reaches alice while she is offline');
  return { away, awayIds, offline, pendingRow };
}

test('two users on two nodes join, see each other and chat both ways', { timeout: 60_000, users }, async () => {
  await join(A, frontA, 'alice');
  await join(B, frontB, 'bob');
  assert.equal((await status(A)).node, 'n1');
  assert.equal((await status(B)).node, 'n2');
  assert.match((await status(A)).text, /connected to node n1/);

  for (const u of users()) {
    await byTestId(u, 'room-list').locator('[data-testid=room-item][data-room=lobby]').waitFor({ timeout: 5000 });
  }
  // Presence is cluster-wide: each sees the other, who is on another node.
  await waitFor(async () => (await presence(A)).includes('bob'), 10_000, { what: 'alice to see bob in presence' });
  await waitFor(async () => (await presence(B)).includes('alice'), 10_000, { what: 'bob to see alice in presence' });
  assert.deepEqual((await presence(A)).sort(), ['alice', 'bob']);
  assert.deepEqual((await presence(B)).sort(), ['alice', 'bob']);

  await recordRows(A);
  await recordRows(B);

  const fromA = 'Hi Bob! alice here, on node n1.';
  await send(A, fromA, { how: 'button' });
  const ownA = await waitForSent(A, fromA);
  assert.equal(ownA.user, 'alice');
  const atB = await waitForMessage(B, 'alice', fromA);
  assert.equal(atB.id, ownA.id, 'the same message has the same id on both pages');
  assert.equal(atB.state, null, 'a message from someone else has no delivery state');
  await assertSendingThenSent(A, fromA);

  const fromB = 'Hey Alice - bob on n2, loud and clear.';
  await send(B, fromB, { how: 'enter' });
  const ownB = await waitForSent(B, fromB);
  const atA = await waitForMessage(A, 'bob', fromB);
  assert.equal(atA.id, ownB.id);
  await assertSendingThenSent(B, fromB);

  // A few more lines, so the picture is a conversation.
  for (const [u, text] of [[A, 'Nice. The cluster has three nodes.'], [B, 'And we are on two of them.']]) {
    await send(u, text, { how: 'enter' });
    await waitForSent(u, text);
    await waitForMessage(u === A ? B : A, u.label, text);
  }

  for (const u of users()) {
    const list = await rows(u);
    assert.deepEqual(list.map((r) => r.text), [fromA, fromB, 'Nice. The cluster has three nodes.', 'And we are on two of them.'],
      `${u.label}'s message list in order`);
    assertUniqueIds(list, u.label);
  }
  await sideBySide(artifact('01-two-users-chatting.png'), A, [
    { user: A, caption: 'alice (node n1)' }, { user: B, caption: 'bob (node n2)' },
  ]);
  await assertNoPageErrors();
});

test('typing on one side shows "X is typing" on the other', { timeout: 30_000, users }, async () => {
  const inputB = byTestId(B, 'message-input');
  await inputB.click();
  await inputB.pressSequentially('Sounds good, I will', { delay: 15 });
  await waitFor(async () => (await typingText(A)) === `bob is typing${TYPING}`, 8000, {
    what: `alice's typing indicator to say "bob is typing${TYPING}"`,
  });
  assert.equal(await typingText(B), '', 'nobody is shown typing to themselves');
  await sideBySide(artifact('02-typing.png'), A, [
    { user: A, caption: 'alice sees bob typing' }, { user: B, caption: 'bob (typing)' },
  ]);
  // Clearing the draft says "stop": the indicator goes away at once, not after the 6 s fallback.
  await inputB.fill('');
  await waitFor(async () => (await typingText(A)) === '', 3000, { what: "alice's typing indicator to clear after bob cleared his draft" });

  // The other way, ended by sending: the message replaces the indicator.
  const inputA = byTestId(A, 'message-input');
  await inputA.click();
  await inputA.pressSequentially('One more thing', { delay: 15 });
  await waitFor(async () => (await typingText(B)) === `alice is typing${TYPING}`, 8000, { what: 'bob to see alice typing' });
  await inputA.press('Enter');
  await waitForMessage(B, 'alice', 'One more thing');
  await waitFor(async () => (await typingText(B)) === '', 3000, { what: "bob's typing indicator to clear after alice sent" });
  await assertNoPageErrors();
});

test('markup in a message is shown as literal text, never run', { timeout: 30_000, users }, async () => {
  const payload = '<script>window.__pwned=1</script><b>bold</b>';
  await send(A, payload);
  await waitForSent(A, payload);
  await waitForMessage(B, 'alice', payload);
  for (const u of users()) {
    const check = await u.page.evaluate((p) => {
      const row = [...document.querySelectorAll('[data-testid=message]')].find((r) => r.querySelector('.text')?.textContent === p);
      const text = row.querySelector('.text');
      return {
        textContent: text.textContent,
        onlyTextNodes: [...text.childNodes].every((n) => n.nodeType === Node.TEXT_NODE),
        bInRow: row.querySelectorAll('b').length,
        scriptsInList: document.querySelectorAll('[data-testid=message-list] script').length,
        pwned: typeof window.__pwned,
      };
    }, payload);
    assert.equal(check.textContent, payload, `${u.label}: text shown verbatim`);
    assert.equal(check.onlyTextNodes, true, `${u.label}: the message text holds no elements`);
    assert.equal(check.bInRow, 0, `${u.label}: no <b> element inside the message`);
    assert.equal(check.scriptsInList, 0, `${u.label}: no <script> element in the message list`);
    assert.equal(check.pwned, 'undefined', `${u.label}: window.__pwned must stay undefined`);
  }
  await B.page.screenshot({ path: artifact('03-markup-as-text-bob.png') });
  await assertNoPageErrors();
});

test("killing alice's node: her page reconnects to another node by itself and misses nothing", { timeout: 100_000, users }, async () => {
  const initial = await status(A);
  assert.equal(initial.state, 'connected');
  assert.equal(initial.node, 'n1');
  const rowsBefore = await rows(A);

  await holdTime(A);
  const pidBefore = n1.pid;
  const exit = await n1.crash();
  assert.equal(exit.signal, 'SIGKILL', `n1 (pid ${pidBefore}) was SIGKILLed`);
  await waitFor(async () => (await status(A)).state === 'reconnecting', 10_000, { what: "alice's status to go to reconnecting" });
  assert.equal((await status(A)).node, '', 'no node is shown while reconnecting');

  // Bob writes while alice is away (bob's node n2 lives).
  const { away, awayIds, offline, pendingRow } = await writeWhileAway('');
  assert.equal(pendingRow.id, null);
  await A.page.screenshot({ path: artifact('04-reconnecting-alice.png') });

  // Time flows again: alice's first attempt goes to her front, where n1
  // refuses, so it lands on n3.
  await releaseTime(A);
  await waitFor(async () => {
    const s = await status(A);
    return s.state === 'connected' && s.node !== '' ? s : false;
  }, 30_000, { what: "alice's page to connect again by itself" });
  const afterStatus = await status(A);
  assert.notEqual(afterStatus.node, 'n1', 'alice is on another node now');
  assert.equal(afterStatus.node, 'n3');
  assert.match(afterStatus.text, /connected to node n3/);

  // Everything bob wrote meanwhile shows up in alice's page, each once, with the same ids.
  for (const [i, text] of away.entries()) {
    const row = await waitForMessage(A, 'bob', text, 15_000);
    assert.equal(row.id, awayIds[i], `"${text}" has the same id for alice as for bob`);
  }
  // Her offline message goes out now, once.
  const sentOffline = await waitForSent(A, offline, 15_000);
  const offlineAtB = await waitForMessage(B, 'alice', offline, 15_000);
  assert.equal(offlineAtB.id, sentOffline.id);

  // And she can write again; bob gets it once.
  const back = 'back again, now on n3';
  await send(A, back, { how: 'enter' });
  const backSent = await waitForSent(A, back);
  const backAtB = await waitForMessage(B, 'alice', back);
  assert.equal(backAtB.id, backSent.id);

  // Presence settles once n2 and n3 have both dropped n1: each still sees the other.
  for (const n of [n2, n3]) {
    await waitFor(async () => ((await clusterInfo(n)).peers || []).length === 1, 15_000, { what: `${n.name} to drop n1` });
  }
  await waitFor(async () => (await presence(B)).includes('alice'), 10_000, { what: 'bob to see alice present after her node died' });
  await waitFor(async () => (await presence(A)).includes('bob'), 10_000, { what: 'alice to see bob present after reconnecting' });

  // Counted at the end, after all that traffic: no row came twice, on either page.
  const listA = await rows(A);
  const listB = await rows(B);
  for (const text of [...away, offline, back]) {
    assert.equal(listA.filter((r) => r.text === text).length, 1, `alice shows "${text}" exactly once`);
    assert.equal(listB.filter((r) => r.text === text).length, 1, `bob shows "${text}" exactly once`);
  }
  for (const id of awayIds) assert.equal(listA.filter((r) => r.id === id).length, 1, `alice shows id ${id} exactly once`);
  assertUniqueIds(listA, 'alice');
  assertUniqueIds(listB, 'bob');
  // What alice had before the crash is all still there, once.
  for (const r of rowsBefore) assert.equal(listA.filter((x) => x.id === r.id).length, 1, `alice still shows "${r.text}" once`);
  // Both pages show the same conversation, in the same order.
  assert.deepEqual(listA.map((r) => r.id), listB.map((r) => r.id), 'alice and bob show the same messages in the same order');

  await sideBySide(artifact('05-after-failover.png'), A, [
    { user: A, caption: 'alice, moved to n3 after n1 was killed' }, { user: B, caption: 'bob (node n2)' },
  ]);
  await assertNoPageErrors();
});

test('a phone-sized window (390x844) keeps the chat usable', { timeout: 30_000, users }, async () => {
  const W = 390, H = 844;
  await B.page.setViewportSize({ width: W, height: H });
  const text = 'sent from a phone-sized window';
  await send(B, text, { how: 'enter' });
  await waitForSent(B, text);
  await waitForMessage(A, 'bob', text);

  const inside = async (testid) => {
    const loc = byTestId(B, testid);
    assert.ok(await loc.isVisible(), `${testid} is visible`);
    const box = await loc.boundingBox();
    assert.ok(box && box.width > 0 && box.height > 0, `${testid} has a size`);
    assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= W + 0.5 && box.y + box.height <= H + 0.5,
      `${testid} lies inside the ${W}x${H} window: ${JSON.stringify(box)}`);
    return box;
  };
  const input = await inside('message-input');
  const sendBtn = await inside('send-button');
  await inside('status');
  const list = await inside('message-list');
  assert.ok(input.width >= 200, `the message input is wide enough to type in (${input.width}px)`);
  assert.ok(sendBtn.height >= 30, `the send button is big enough to tap (${sendBtn.height}px high)`);
  assert.ok(list.height >= 300, `the message list gets most of the height (${list.height}px)`);
  assert.ok(list.y + list.height <= input.y + 0.5, 'the message list is above the composer');
  const scrollW = await B.page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollW <= W, `no sideways scrolling (page is ${scrollW}px wide)`);
  // The newest message is in view (the list scrolled to it).
  const last = byTestId(B, 'message-list').locator('[data-testid=message]').last();
  assert.equal(await last.locator('.text').textContent(), text);
  const lastBox = await last.boundingBox();
  assert.ok(lastBox && lastBox.y >= list.y - 0.5 && lastBox.y + lastBox.height <= list.y + list.height + 0.5,
    `the newest message is visible in the list: ${JSON.stringify(lastBox)} in ${JSON.stringify(list)}`);
  await B.page.screenshot({ path: artifact('06-phone-bob.png') });
  await assertNoPageErrors();
});

test('a page loaded straight from a node moves to another node by itself when that node is killed', { timeout: 100_000, users }, async () => {
  // n1 comes back on its old ports and rejoins; it must know the others'
  // public URLs before the page asks it for them.
  await n1.start();
  for (const n of [n1, n2, n3]) await waitPeerCount(n, 2);
  const others = [n2, n3].map((n) => n.baseUrl);
  await waitFor(async () => {
    const urls = ((await clusterInfo(n1)).peers || []).map((p) => p.url);
    return others.every((u) => urls.includes(u));
  }, 10_000, { what: "n1's /api/cluster to list n2's and n3's URLs" });
  await B.page.setViewportSize({ width: 960, height: 620 });
  assert.equal((await status(B)).node, 'n2');

  // No front door: alice opens n1's own address, so only the page itself
  // can take her elsewhere.
  await join(A, { origin: n1.baseUrl }, 'alice');
  assert.equal((await status(A)).node, 'n1');
  await recordRows(A);
  await waitFor(async () => {
    const known = await A.page.evaluate(() => window.chatDebug.state.nodes);
    return others.every((u) => known.includes(u)) ? known : false;
  }, 10_000, { what: "alice's page to learn n2's and n3's URLs" });
  const rowsBefore = await rows(A);

  await holdTime(A);
  const exit = await n1.crash();
  assert.equal(exit.signal, 'SIGKILL', 'n1 was SIGKILLed');
  await waitFor(async () => (await status(A)).state === 'reconnecting', 10_000, { what: "alice's status to go to reconnecting" });
  assert.equal((await status(A)).node, '', 'no node is shown while reconnecting');

  const { away, awayIds, offline } = await writeWhileAway('direct: ');
  await A.page.screenshot({ path: artifact('07-direct-reconnecting-alice.png') });

  // Time flows again: the page tries n1's address (refused), then the
  // nodes it learned.
  await releaseTime(A);
  const moved = await waitFor(async () => {
    const s = await status(A);
    return s.state === 'connected' && s.node !== '' ? s : false;
  }, 30_000, { what: "alice's page to connect to another node by itself" });
  assert.ok(['n2', 'n3'].includes(moved.node), `alice is on n2 or n3 now, not ${moved.node}`);
  assert.match(moved.text, new RegExp(`connected to node ${moved.node}`));
  assert.ok(A.page.url().startsWith(n1.baseUrl), `the page was not reloaded from elsewhere (${A.page.url()})`);

  for (const [i, text] of away.entries()) {
    const row = await waitForMessage(A, 'bob', text, 15_000);
    assert.equal(row.id, awayIds[i], `"${text}" has the same id for alice as for bob`);
  }
  const sentOffline = await waitForSent(A, offline, 15_000);
  const offlineAtB = await waitForMessage(B, 'alice', offline, 15_000);
  assert.equal(offlineAtB.id, sentOffline.id);
  await assertSendingThenSent(A, offline);

  const listA = await rows(A);
  const listB = await rows(B);
  for (const text of [...away, offline]) {
    assert.equal(listA.filter((r) => r.text === text).length, 1, `alice shows "${text}" exactly once`);
    assert.equal(listB.filter((r) => r.text === text).length, 1, `bob shows "${text}" exactly once`);
  }
  assertUniqueIds(listA, 'alice');
  assertUniqueIds(listB, 'bob');
  for (const r of rowsBefore) assert.equal(listA.filter((x) => x.id === r.id).length, 1, `alice still shows "${r.text}" once`);
  assert.deepEqual(listA.map((r) => r.id), listB.map((r) => r.id), 'alice and bob show the same messages in the same order');

  await sideBySide(artifact('08-direct-after-failover.png'), A, [
    { user: A, caption: `alice, loaded from n1, moved to ${moved.node} by herself` }, { user: B, caption: 'bob (node n2)' },
  ]);
  await assertNoPageErrors();
});

test('closing the browsers leaves no Chromium process behind', { timeout: 30_000, users }, async () => {
  const pids = livePids();
  assert.equal(pids.length, 2, 'two Chromiums were running');
  if (process.env.UPDATE_DOCS_SCREENSHOT) {
    fs.mkdirSync(path.join(REPO, 'docs', 'images'), { recursive: true });
    fs.copyFileSync(artifact('01-two-users-chatting.png'), path.join(REPO, 'docs', 'images', 'chat.png'));
  }
  await closeAll();
  for (const pid of pids) assert.ok(!isAlive(pid), `Chromium ${pid} is gone`);
  assert.deepEqual(livePids(), []);
});
