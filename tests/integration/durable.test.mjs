// The on-disk history store (--data-dir): what was acked survives SIGKILL
// of every node, scrollback (protocol 1.1 `history` with `before`, and
// GET /api/rooms/ROOM/history?before=ID&limit=N) on one node and on several,
// retention (--history-keep), retry keys across restarts, catch-up of a node
// that was down or lost its disk, a corrupt store, and a disk that fills up
// (a real tmpfs; needs root).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

import { converge } from './lib/checks.mjs';
import { connect, unique } from './lib/client.mjs';
import { getJson, metrics, roomHistory } from './lib/http.mjs';
import { ChatNode, freePort, makeNode, waitFor, waitPeerCount } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';

// Tests publish hundreds of messages from one connection.
const FAST = { 'rate-per-s': 10000, burst: 10000 };

const dirs = [];
function dataDir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `chatd-data-${tag}-`));
  dirs.push(d);
  return d;
}
after(async () => {
  await cleanup();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Publishes n messages, one after the other; resolves to their acks, in order. */
async function publishMany(c, room, n, prefix = 'm') {
  const acks = [];
  for (let i = 0; i < n; i++) acks.push({ ...(await c.say(room, `${prefix} ${i}`)), text: `${prefix} ${i}` });
  return acks;
}

/** Every message of a room, oldest first, by scrolling back from the window. */
async function scrollAll(c, room, window, limit = 100) {
  const all = [...window];
  let more = true;
  let pages = 0;
  while (more && all.length) {
    await c.send({ type: 'history', room, before: all[0].id, limit });
    const page = await c.next((f) => f.type === 'history' && f.before === all[0].id);
    assert.ok(page.messages.length <= limit, 'at most limit messages');
    all.unshift(...page.messages);
    more = page.more;
    pages += 1;
    assert.ok(pages < 1000, 'scrollback ends');
  }
  return all;
}

/** Two nodes listing each other, each on its own data dir. */
async function pairWithData(prefix, flags = {}) {
  const ports = [];
  for (let i = 0; i < 2; i++) ports.push({ http: await freePort(), cluster: await freePort() });
  const peers = ports.map((p) => `127.0.0.1:${p.cluster}`);
  return ports.map(
    (p, i) =>
      new ChatNode({
        name: `${prefix}${i + 1}`,
        httpPort: p.http,
        clusterPort: p.cluster,
        peers,
        flags: { ...FAST, 'data-dir': dataDir(`${prefix}${i + 1}`), ...flags },
      }),
  );
}

test('welcome lists the scrollback feature', async () => {
  const node = await (await makeNode({ name: 'feat', flags: { 'data-dir': dataDir('feat') } })).start();
  const c = await connect(node, { user: unique('f') });
  assert.deepEqual(c.welcome.features, ['scrollback', 'dm']);
  assert.equal(c.welcome.protocol, 1);
});

test('acked messages survive SIGKILL; the window is the newest --history; scrollback reaches every older one, in order', async () => {
  const node = await (await makeNode({ name: 'dur', flags: { ...FAST, 'data-dir': dataDir('dur') } })).start();
  const room = unique('dur');
  const a = await connect(node, { user: unique('a'), rooms: [room] });
  await a.awaitJoined([room]);
  const sent = await publishMany(a, room, 130);
  const retried = await a.say(room, 'with a retry key', { clientId: 'dur-keep-1' });
  await node.crash();
  await node.start();

  const ids = [...sent.map((s) => s.id), retried.id];
  const window = await roomHistory(node, room);
  assert.deepEqual(window.map((m) => m.id), ids.slice(-50), 'the window is the newest 50, read back from disk');

  const b = await connect(node, { user: unique('b'), rooms: [room] });
  const { history } = (await b.awaitJoined([room]))[room];
  assert.deepEqual(history.messages.map((m) => m.id), ids.slice(-50));
  const all = await scrollAll(b, room, history.messages, 50);
  assert.deepEqual(all.map((m) => m.id), ids, 'every message, once, in history order');
  assert.deepEqual(all.slice(0, 130).map((m) => m.text), sent.map((s) => s.text));

  // The retry key survived the restart: the same client_id is the same message.
  const again = await b.say(room, 'with a retry key', { clientId: 'dur-keep-1' }).catch((e) => e);
  assert.ok(!(again instanceof Error), `${again}`); // different user: a new message
  const c = await connect(node, { user: a.welcome.user, rooms: [room] });
  await c.awaitJoined([room]);
  const same = await c.say(room, 'with a retry key', { clientId: 'dur-keep-1' });
  assert.equal(same.id, retried.id, 'a retry after the restart is acked with the original id');
  await b.expectNothing({ type: 'message', id: retried.id });
});

test('scrollback answers: more, not_found, bad limits, not_subscribed; HTTP before/limit likewise', async () => {
  const node = await (await makeNode({ name: 'sb', flags: { ...FAST, 'data-dir': dataDir('sb') } })).start();
  const room = unique('sb');
  const other = unique('sbo');
  const a = await connect(node, { user: unique('a'), rooms: [room] });
  await a.awaitJoined([room]);
  const sent = await publishMany(a, room, 12);
  const ids = sent.map((s) => s.id);

  await a.send({ type: 'history', room, before: ids[10], limit: 4 });
  let page = await a.next((f) => f.type === 'history' && f.before === ids[10]);
  assert.deepEqual(page.messages.map((m) => m.id), ids.slice(6, 10));
  assert.equal(page.more, true);
  assert.equal(page.room, room);
  await a.send({ type: 'history', room, before: ids[3] }); // default limit 50
  page = await a.next((f) => f.type === 'history' && f.before === ids[3]);
  assert.deepEqual(page.messages.map((m) => m.id), ids.slice(0, 3));
  assert.equal(page.more, false);
  await a.send({ type: 'history', room, before: ids[0] });
  page = await a.next((f) => f.type === 'history' && f.before === ids[0]);
  assert.deepEqual(page.messages, []);
  assert.equal(page.more, false);

  const bad = async (frame, code) => {
    await a.send(frame);
    const e = await a.next((f) => f.type === 'error' && f.ref === 'history');
    assert.equal(e.code, code, JSON.stringify(frame));
  };
  await bad({ type: 'history', room, before: '066194d28d8b3b-nowhere-000000' }, 'not_found');
  await bad({ type: 'history', room, before: ids[5], limit: 0 }, 'bad_request');
  await bad({ type: 'history', room, before: ids[5], limit: 101 }, 'bad_request');
  await bad({ type: 'history', room, before: ids[5], limit: 2.5 }, 'bad_request');
  await bad({ type: 'history', room, before: ids[5], limit: '3' }, 'bad_request');
  await bad({ type: 'history', room }, 'bad_request');
  await bad({ type: 'history', room, before: '' }, 'bad_request');
  await bad({ type: 'history', room: other, before: ids[5] }, 'not_subscribed');
  // Nothing was lost to the refusals: the room still reads back whole.
  assert.deepEqual((await roomHistory(node, room)).map((m) => m.id), ids);

  const base = `/api/rooms/${encodeURIComponent(room)}/history`;
  const got = await getJson(node.url(`${base}?before=${encodeURIComponent(ids[10])}&limit=4`));
  assert.equal(got.status, 200);
  assert.deepEqual(got.json.messages.map((m) => m.id), ids.slice(6, 10));
  assert.equal(got.json.more, true);
  assert.equal(got.json.before, ids[10]);
  const none = await getJson(node.url(`${base}?before=nope`));
  assert.equal(none.status, 404);
  assert.equal(none.json.error, 'not_found');
  for (const q of ['limit=0', 'limit=101', 'limit=x', 'limit=']) {
    const r = await getJson(node.url(`${base}?before=${encodeURIComponent(ids[10])}&${q}`));
    assert.equal(r.status, 400, q);
    assert.equal(r.json.error, 'bad_request');
  }
  const noBefore = await getJson(node.url(`${base}?limit=5`));
  assert.equal(noBefore.status, 400);
});

test('a scrollback page of long messages is cut to fit the connection (more: true), never closes it', async () => {
  // A queue bound of 200 000 bytes: 100 messages of 3900 characters (~400 KB) cannot go in one frame.
  const node = await (
    await makeNode({ name: 'fit', flags: { ...FAST, 'data-dir': dataDir('fit'), 'max-queue-bytes': 200_000, history: 5 } })
  ).start();
  const room = unique('fit');
  const a = await connect(node, { user: unique('a'), rooms: [room] });
  await a.awaitJoined([room]);
  const text = 'z'.repeat(3900);
  const ids = [];
  for (let i = 0; i < 101; i++) ids.push((await a.say(room, text)).id);
  await a.send({ type: 'history', room, before: ids[100], limit: 100 });
  const page = await a.next((f) => f.type === 'history' && f.before === ids[100]);
  assert.ok(page.messages.length >= 1 && page.messages.length < 100, `${page.messages.length} messages`);
  assert.equal(page.more, true);
  assert.deepEqual(page.messages.map((m) => m.id), ids.slice(100 - page.messages.length, 100), 'the newest before the id');
  // Still connected, and paging on reaches the start.
  const all = await scrollAll(a, room, page.messages);
  assert.deepEqual(all.map((m) => m.id), ids.slice(0, 100));
});

test('--history-keep: a room keeps its newest N messages on disk, older ones go', async () => {
  const node = await (
    await makeNode({ name: 'keep', flags: { ...FAST, 'data-dir': dataDir('keep'), 'history-keep': 60, history: 20 } })
  ).start();
  const room = unique('keep');
  const a = await connect(node, { user: unique('a'), rooms: [room] });
  await a.awaitJoined([room]);
  const sent = await publishMany(a, room, 150);
  const window = await roomHistory(node, room);
  assert.equal(window.length, 20);
  const all = await scrollAll(a, room, window);
  const ids = sent.map((s) => s.id);
  // Trimmed every keep/10 writes: between keep and keep + keep/10 remain,
  // always the newest, in order.
  assert.ok(all.length >= 60 && all.length <= 66, `kept ${all.length}`);
  assert.deepEqual(all.map((m) => m.id), ids.slice(-all.length));
});

test('two nodes on their own disks: a node that was down pulls what it missed; one that lost its disk pulls everything retained', async () => {
  const [n1, n2] = await pairWithData('pair');
  await Promise.all([n1.start(), n2.start()]);
  await waitPeerCount(n1, 1);
  const room = unique('pair');
  const a = await connect(n1, { user: unique('a'), rooms: [room] });
  const b = await connect(n2, { user: unique('b'), rooms: [room] });
  for (const c of [a, b]) await c.awaitJoined([room]);
  await converge([a, b], room, [a.welcome.user, b.welcome.user]);
  const first = await publishMany(a, room, 70, 'first');

  await n2.crash();
  const whileDown = await publishMany(a, room, 70, 'down');
  await n2.start();
  const ids = [...first, ...whileDown].map((s) => s.id);
  for (const n of [n1, n2]) {
    const c = await connect(n, { user: unique('r'), rooms: [room] });
    const { history } = (await c.awaitJoined([room]))[room];
    const all = await scrollAll(c, room, history.messages);
    assert.deepEqual(all.map((m) => m.id), ids, `${n.name}: every message, in the same order`);
  }

  // pair2 loses its disk: it starts empty and pulls the retained history.
  await n2.crash();
  fs.rmSync(n2.flags['data-dir'], { recursive: true, force: true });
  await n2.start();
  const c = await connect(n2, { user: unique('e'), rooms: [room] });
  const { history } = (await c.awaitJoined([room]))[room];
  const all = await scrollAll(c, room, history.messages);
  assert.deepEqual(all.map((m) => m.id), ids, 'an empty node pulled the whole retained history');
});

test('every node SIGKILLed at once: both come back with every acked message, identical', async () => {
  const [n1, n2] = await pairWithData('both', { history: 200 });
  await Promise.all([n1.start(), n2.start()]);
  await waitPeerCount(n1, 1);
  const room = unique('both');
  const a = await connect(n1, { user: unique('a'), rooms: [room] });
  const b = await connect(n2, { user: unique('b'), rooms: [room] });
  for (const c of [a, b]) await c.awaitJoined([room]);
  const acks = (await Promise.all([publishMany(a, room, 40, 'a'), publishMany(b, room, 40, 'b')])).flat();
  await Promise.all([n1.crash(), n2.crash()]);
  // Each alone first: what it acked is on its own disk.
  await n1.start();
  const alone = new Set((await getJson(n1.url(`/api/rooms/${room}/history`))).json.map((m) => m.id));
  for (const x of acks.filter((x) => x.text.startsWith('a '))) assert.ok(alone.has(x.id), `n1 kept ${x.id}`);
  await n2.start();
  const histories = [];
  for (const n of [n1, n2]) {
    const c = await connect(n, { user: unique('r'), rooms: [room] });
    const { history } = (await c.awaitJoined([room]))[room];
    histories.push((await scrollAll(c, room, history.messages)).map((m) => m.id));
  }
  await waitFor(
    async () => {
      const h = [];
      for (const n of [n1, n2]) h.push((await roomHistory(n, room)).map((m) => m.id).join());
      return h[0] === h[1];
    },
    10_000,
    { what: 'windows equal' },
  );
  assert.equal(histories[0].length, 80);
  assert.deepEqual(new Set(histories[0]), new Set(acks.map((x) => x.id)));
});

test('bounded memory: rooms nobody is in leave memory past --max-node-rooms, their history stays on disk', { timeout: 60_000 }, async () => {
  const node = await (
    await makeNode({ name: 'bounded', flags: { ...FAST, 'data-dir': dataDir('bounded'), 'max-node-rooms': 10 } })
  ).start();
  const rooms = Array.from({ length: 40 }, (_, i) => unique(`b${i}`));
  const ids = new Map();
  for (let c = 0; c < 4; c++) {
    const mine = rooms.slice(c * 10, c * 10 + 10);
    const x = await connect(node, { user: unique('x'), rooms: mine });
    await x.awaitJoined(mine);
    for (const room of mine) ids.set(room, (await x.say(room, `in ${room}`)).id);
    x.close();
  }
  let held = 0;
  await waitFor(
    async () => {
      held = (await metrics(node)).get('chat_rooms');
      return held <= 10;
    },
    30_000,
    { what: () => `chat_rooms (held in memory) to fall to 10 or fewer (is ${held})` },
  );
  // Every room still reads back, from disk.
  for (const room of rooms) assert.deepEqual((await roomHistory(node, room)).map((m) => m.id), [ids.get(room)], room);
});

test('--history-cache-bytes bounds the windows held in memory by bytes, rooms in use included', { timeout: 60_000 }, async () => {
  const node = await (
    await makeNode({ name: 'bytes', flags: { ...FAST, 'data-dir': dataDir('bytes'), history: 20, 'history-cache-bytes': 1 << 20 } })
  ).start();
  const rooms = Array.from({ length: 20 }, (_, i) => unique(`w${i}`));
  const a = await connect(node, { user: unique('a'), rooms }); // every room stays in use
  await a.awaitJoined(rooms);
  const text = 'y'.repeat(3900);
  for (const room of rooms) for (let i = 0; i < 20; i++) await a.say(room, text);
  // 20 rooms x 20 messages of ~4 KB = 1.6 MB of windows; at most 1 MiB stays.
  const held = (await metrics(node)).get('chat_history_messages');
  assert.ok(held * 3900 <= 1 << 20, `${held} messages held in memory`);
  assert.ok(held >= 20, 'the room in use last is held');
  for (const room of rooms) assert.equal((await roomHistory(node, room)).length, 20, `${room} reads back whole`);
});

test('a corrupt store: the node refuses to start and says how to recover', async () => {
  const dir = dataDir('bad');
  const node = await (await makeNode({ name: 'bad', flags: { 'data-dir': dir } })).start();
  const room = unique('bad');
  const a = await connect(node, { user: unique('a'), rooms: [room] });
  await a.awaitJoined([room]);
  await publishMany(a, room, 5);
  await node.stop();
  const manifest = fs.readdirSync(dir).find((f) => f.startsWith('MANIFEST-'));
  fs.writeFileSync(path.join(dir, manifest), 'this is not a manifest '.repeat(100));
  await assert.rejects(node.start({ readyTimeoutMs: 10_000 }));
  const info = await node.exited;
  assert.equal(info.code, 3);
  const log = fs.readFileSync(node.logFile, 'utf8');
  assert.match(log, /corrupt/);
  assert.match(log, /move the directory away/);
  // Moved away, the node starts (empty here: it has no peers).
  fs.renameSync(dir, `${dir}.corrupt`);
  dirs.push(`${dir}.corrupt`);
  await node.start();
  assert.deepEqual(await roomHistory(node, room), []);
});

test('a full disk: publishes get internal and are not acked, /readyz 503; once space is freed the node writes again and lost nothing', { timeout: 60_000 }, async (t) => {
  if (process.getuid() !== 0) {
    t.skip('needs root to mount a small tmpfs');
    return;
  }
  // A 3 MiB tmpfs holding the data dir and a 1 MiB filler: the store's
  // write-ahead log runs out of space after about 2 MiB of messages.
  const mnt = dataDir('full');
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
  assert.equal(mount.status, 0, `mount: ${mount.stderr}`);
  try {
    fs.writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(1 << 20));
    const node = await (await makeNode({ name: 'full', flags: { ...FAST, 'data-dir': path.join(mnt, 'data') } })).start();
    const room = unique('full');
    const a = await connect(node, { user: unique('a'), rooms: [room] });
    await a.awaitJoined([room]);
    const text = 'x'.repeat(3900);
    const acked = [];
    let refused = null;
    for (let i = 0; i < 1000 && !refused; i++) {
      const cid = `full-${i}`;
      await a.send({ type: 'message', room, text, client_id: cid });
      const f = await a.next((x) => (x.type === 'ack' && x.client_id === cid) || (x.type === 'error' && x.ref === cid));
      if (f.type === 'ack') acked.push(f.id);
      else refused = f;
    }
    assert.ok(refused, 'the disk filled up');
    assert.equal(refused.code, 'internal');
    assert.ok(acked.length > 100, `${acked.length} acked before the disk was full`);
    const ready = await getJson(node.url('/readyz'));
    assert.equal(ready.status, 503);
    assert.equal(ready.json.store_writable, false);
    assert.equal((await metrics(node)).get('chat_store_writable'), 0);

    fs.rmSync(path.join(mnt, 'filler'));
    await waitFor(async () => (await getJson(node.url('/readyz'))).status === 200, 20_000, { what: '/readyz 200 again' });
    const retry = await a.say(room, text, { clientId: refused.ref });
    assert.ok(!acked.includes(retry.id));
    await node.crash();
    await node.start();
    const b = await connect(node, { user: unique('b'), rooms: [room] });
    const { history } = (await b.awaitJoined([room]))[room];
    const all = (await scrollAll(b, room, history.messages)).map((m) => m.id);
    assert.deepEqual(all, [...acked, retry.id], 'every acked message, once, nothing that was refused');
    await node.stop();
  } finally {
    await cleanup();
    spawnSync('umount', [mnt]);
  }
});
