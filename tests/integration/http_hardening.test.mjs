// The HTTP side under attack (security issue #10): who may open /ws (Origin),
// which peer URLs pages are given, malformed and oversized requests, HEAD,
// running out of descriptors, the node-wide connection cap, a /healthz that
// proves the actors run, and what an auth secret hides from anonymous callers.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { connect, unique, upgradeStatus } from './lib/client.mjs';
import { getJson, getText, metrics, post } from './lib/http.mjs';
import { ChatNode, HOST, clusterInfo, freePort, makeNode, startNode, waitFor, waitPeerCount } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';
import { signToken } from './lib/token.mjs';

after(cleanup);

// ---------------------------------------------------------------- helpers

/** Sends `bytes` on a fresh socket and resolves to everything read until the server closes (or timeoutMs). */
function raw(node, bytes, { timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port: node.httpPort });
    const chunks = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; read so far: ${Buffer.concat(chunks).toString().slice(0, 300)}`));
    }, timeoutMs);
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', () => {}); // a reset after the answer still leaves what was read
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    sock.write(bytes, () => sock.end());
  });
}

/** Splits a raw HTTP/1.1 response into { status, headers (lowercase names), body }. */
function parseResponse(text) {
  const end = text.indexOf('\r\n\r\n');
  assert.ok(end > 0, `an HTTP response, got ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(end + 4) };
}

/** A WebSocket upgrade of /ws with extra headers: { status, json, ... }; 101 closes the socket at once. */
function upgrade(node, { query = `user=${unique('u')}`, headers = {}, timeoutMs = 5000 } = {}) {
  return upgradeStatus(node.url(`/ws?${query}`), { headers, timeoutMs });
}

function assertJsonError(res, status, code) {
  assert.equal(res.status, status, `status (body ${res.body ?? res.text})`);
  const json = res.json ?? JSON.parse(res.body);
  assert.equal(json.error, code);
  assert.equal(typeof json.message, 'string');
}

/** A token valid for an hour unless `claims` says otherwise. */
function token(secret, claims) {
  return signToken(secret, { exp: Math.floor(Date.now() / 1000) + 3600, ...claims });
}

// ---------------------------------------------------------------- 1. Origin

test('/ws: a page of another origin is refused with 403 forbidden; same origin and no Origin are upgraded', async () => {
  const node = await startNode({ name: 'origin-default' });
  const refused = await upgrade(node, { headers: { origin: 'http://evil.example' } });
  assertJsonError(refused, 403, 'forbidden');
  assertJsonError(await upgrade(node, { headers: { origin: `http://${HOST}:${node.httpPort + 1}` } }), 403, 'forbidden');
  assertJsonError(await upgrade(node, { headers: { origin: 'null' } }), 403, 'forbidden');
  assert.equal((await upgrade(node, { headers: { origin: node.baseUrl } })).status, 101);
  assert.equal((await upgrade(node)).status, 101, 'no Origin: not a browser, allowed');
  // Nothing was upgraded for the refused ones.
  await waitFor(async () => (await metrics(node)).get('chat_connections') === 0, 5000, { what: 'no connection left' });
  await node.stop();
});

test('/ws: --allowed-origins admits exactly its origins, "*" admits any', async () => {
  const listed = await startNode({ name: 'origin-list', flags: { 'allowed-origins': 'http://chat.example,https://b.example:8443' } });
  assert.equal((await upgrade(listed, { headers: { origin: 'http://chat.example' } })).status, 101);
  assert.equal((await upgrade(listed, { headers: { origin: 'https://b.example:8443' } })).status, 101);
  assertJsonError(await upgrade(listed, { headers: { origin: 'http://b.example:8443' } }), 403, 'forbidden');
  // An explicit list does not also admit "same origin" (a DNS-rebinding page is).
  assertJsonError(await upgrade(listed, { headers: { origin: listed.baseUrl } }), 403, 'forbidden');
  const any = await startNode({ name: 'origin-any', flags: { 'allowed-origins': '*' } });
  assert.equal((await upgrade(any, { headers: { origin: 'http://evil.example' } })).status, 101);
  await Promise.all([listed.stop(), any.stop()]);
});

// ---------------------------------------------------------------- 2. peer URLs

test('/api/cluster passes on a peer URL only when its origin is allowed here', { timeout: 40_000 }, async () => {
  const ports = [];
  for (let i = 0; i < 3; i++) ports.push({ http: await freePort(), cluster: await freePort() });
  const peers = ports.map((p) => `${HOST}:${p.cluster}`);
  const honest = `http://${HOST}:${ports[1].http}`;
  const mk = (i, name, flags) => new ChatNode({ name, httpPort: ports[i].http, clusterPort: ports[i].cluster, peers, flags });
  // a: default rule; b: allows the honest node's URL; rogue: claims a URL of its choosing.
  const a = mk(0, 'url-a', {});
  const b = mk(1, 'url-b', { 'allowed-origins': `http://${HOST}:${ports[0].http},${honest}` });
  const rogue = mk(2, 'url-rogue', { 'public-url': 'http://evil.example' });
  await Promise.all([a.start(), b.start(), rogue.start()]);
  await Promise.all([a, b, rogue].map((n) => waitPeerCount(n, 2)));
  const urlOf = async (n, peer) => {
    const p = (await clusterInfo(n)).peers.find((x) => x.node === peer);
    return p ? p.url : 'not listed';
  };
  // Peers learn each other's URLs a little after they see each other.
  await waitFor(async () => (await urlOf(b, 'url-a')) === a.baseUrl, 10_000, { what: "b to list a's URL" });
  assert.equal(await urlOf(b, 'url-rogue'), undefined, "b does not pass on the rogue's URL");
  assert.equal(await urlOf(a, 'url-rogue'), undefined, 'default rule: no peer URL at all');
  assert.equal(await urlOf(a, 'url-b'), undefined, 'default rule: no peer URL at all');
  assert.equal((await clusterInfo(a)).url, a.baseUrl, 'its own URL is always there');
  await Promise.all([a.stop(), b.stop(), rogue.stop()]);
});

// ---------------------------------------------------------------- 3. malformed requests, HEAD

test('oversized requests get a status: 431 for headers, 414 for the URL, 413 for the body; garbage gets 400', async () => {
  const node = await startNode({ name: 'limits' });
  const manyHeaders = Array.from({ length: 40 }, (_, i) => `X-Pad-${i}: ${'a'.repeat(1000)}\r\n`).join('');
  let res = parseResponse(await raw(node, `GET /healthz HTTP/1.1\r\nHost: x\r\n${manyHeaders}\r\n`));
  assertJsonError(res, 431, 'bad_request');
  assert.equal(res.headers.connection, 'close');

  res = parseResponse(await raw(node, `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`));
  assertJsonError(res, 414, 'bad_request');
  assert.equal(res.headers.connection, 'close');
  // Within the header limit, still over the URL limit.
  res = parseResponse(await raw(node, `GET /api/rooms/${'a'.repeat(9000)}/history HTTP/1.1\r\nHost: x\r\n\r\n`));
  assertJsonError(res, 414, 'bad_request');

  const body = 'x'.repeat(100_000);
  res = parseResponse(await raw(node, `POST /api/cluster HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
  assertJsonError(res, 413, 'too_large');
  assert.equal(res.headers.connection, 'close');

  res = parseResponse(await raw(node, 'NOT HTTP AT ALL\r\n\r\n'));
  assertJsonError(res, 400, 'bad_request');

  // The node still serves.
  assert.equal((await getJson(node.url('/readyz'))).status, 200);
  await node.stop();
});

test('HEAD answers with the GET headers (Content-Length included) and no body', async () => {
  const node = await startNode({ name: 'head' });
  for (const path of ['/', '/app.js', '/api/cluster', '/readyz', '/healthz', '/no-such-path']) {
    const get = await getText(node.url(path));
    const res = parseResponse(await raw(node, `HEAD ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    assert.equal(res.status, get.status, `status of HEAD ${path}`);
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(get.text)), `Content-Length of HEAD ${path}`);
    assert.equal(res.headers['content-type'], get.headers['content-type']);
    assert.equal(res.body, '', `no body after HEAD ${path}`);
  }
  // Keep-alive: the answer to a HEAD is exactly its headers, the next answer follows.
  const two = await raw(node, 'HEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const first = parseResponse(two);
  assert.equal(first.status, 200);
  const second = parseResponse(first.body);
  assert.equal(second.status, 200);
  assert.equal(JSON.parse(second.body).ready, true);
  await node.stop();
});

// ---------------------------------------------------------------- 4. out of descriptors

test('out of file descriptors, the accept loop backs off, logs little, and serves again once some are free', { timeout: 60_000 }, async () => {
  const node = await makeNode({ name: 'emfile', wrap: ['prlimit', '--nofile=64', '--'] });
  await node.start();
  const socks = [];
  const failed = () => fs.readFileSync(node.logFile, 'utf8').split('\n').filter((l) => l.includes('accept failed'));
  try {
    // Each accepted socket holds a descriptor until it sends something or
    // times out (30 s): open them until the node reports failing accepts.
    await waitFor(async () => {
      for (let i = 0; i < 10; i++) {
        const s = net.connect({ host: HOST, port: node.httpPort });
        s.on('error', () => {});
        socks.push(s);
      }
      await sleep(50);
      return failed().length > 0;
    }, 20_000, { interval: 10, what: () => `accept to fail (${socks.length} sockets open)` });
    const before = failed().length;
    await sleep(3000);
    const lines = failed().length - before;
    assert.ok(lines < 10, `at most about one "accept failed" line a second, got ${lines} in 3 s`);
    assert.ok(node.running, 'the node is still running');
  } finally {
    for (const s of socks) s.destroy();
  }
  await waitFor(async () => (await getJson(node.url('/readyz'), { timeoutMs: 1000 })).status === 200, 15_000, {
    what: 'the node to serve again',
  });
  await waitFor(() => fs.readFileSync(node.logFile, 'utf8').includes('accepting connections again'), 5000, {
    what: 'the node to log that it accepts again',
  });
  await node.stop();
});

// ---------------------------------------------------------------- 5. connection cap

test('--max-connections: past the cap the upgrade is refused with 503 overloaded, and admitted again below it', async () => {
  const node = await startNode({ name: 'cap', flags: { 'max-connections': 2 } });
  const a = await connect(node, { user: unique('a'), rooms: '' });
  const b = await connect(node, { user: unique('b'), rooms: '' });
  assertJsonError(await upgrade(node), 503, 'overloaded');
  await assert.rejects(connect(node, { user: unique('c'), rooms: '' }), /HTTP 503/);
  await a.close();
  // The slot frees once the node has seen the close.
  const c = await waitFor(async () => connect(node, { user: unique('c'), rooms: '' }), 5000, { what: 'a free slot' });
  assertJsonError(await upgrade(node), 503, 'overloaded');
  await Promise.all([b.close(), c.close()]);
  await node.stop();
});

// ---------------------------------------------------------------- 6. /healthz

test('/healthz is 503 while the actors cannot run, and 200 again once they can', { timeout: 40_000 }, async () => {
  const node = await startNode({ name: 'health', flags: { 'debug-endpoints': true } });
  const ok = await getJson(node.url('/healthz'));
  assert.equal(ok.status, 200);
  assert.equal(ok.json.status, 'ok');
  const stall = await post(node.adminUrl('/debug/stall/actors?ms=6000'));
  assert.equal(stall.status, 200, stall.text);
  const sick = await getJson(node.url('/healthz'), { timeoutMs: 5000 });
  assertJsonError(sick, 503, 'unhealthy');
  // /readyz does not depend on the actors.
  assert.equal((await getJson(node.url('/readyz'))).status, 200);
  await waitFor(async () => (await getJson(node.url('/healthz'))).status === 200, 15_000, { what: '/healthz 200 again' });
  await node.stop();
});

// ---------------------------------------------------------------- 7. auth secret

test('with --auth-secret, room history needs a token that allows the room; metrics and cluster name no room', async () => {
  const secret = 's3cret';
  const node = await startNode({ name: 'authz', flags: { 'auth-secret': secret } });
  const room = unique('secretroom');
  const user = unique('u');
  const c = await connect(node, { user, rooms: [room], query: { token: token(secret, { sub: user }) } });
  await c.awaitJoined([room]);
  await c.say(room, 'hidden');
  const path = `/api/rooms/${room}/history`;

  assertJsonError(await getJson(node.url(path)), 401, 'unauthorized');
  assertJsonError(await getJson(node.url(`${path}?token=garbage`)), 401, 'unauthorized');
  assertJsonError(await getJson(node.url(`${path}?token=${token('other', { sub: user })}`)), 401, 'unauthorized');
  const expired = token(secret, { sub: user, exp: Math.floor(Date.now() / 1000) - 10 });
  assertJsonError(await getJson(node.url(path), { headers: { authorization: `Bearer ${expired}` } }), 401, 'unauthorized');
  const elsewhere = token(secret, { sub: user, rooms: ['lobby'] });
  assertJsonError(await getJson(node.url(`${path}?token=${elsewhere}`)), 403, 'forbidden');

  const byQuery = await getJson(node.url(`${path}?token=${token(secret, { sub: user, rooms: [room] })}`));
  assert.equal(byQuery.status, 200);
  assert.deepEqual(byQuery.json.map((m) => m.text), ['hidden']);
  const byHeader = await getJson(node.url(path), { headers: { authorization: `Bearer ${token(secret, { sub: user })}` } });
  assert.equal(byHeader.status, 200);
  assert.equal(byHeader.json.length, 1);

  const text = (await getText(node.adminUrl('/metrics'))).text;
  assert.ok(!text.includes(room), 'no room name in /metrics');
  assert.match(text, /^chat_history_messages 1$/m, 'the total over all rooms instead');
  assert.match(text, /^chat_group_members\{group="chat_servers"\} 1$/m);
  const cl = await getJson(node.adminUrl('/api/cluster'));
  assert.ok(!cl.text.includes(room), 'no room name in /api/cluster');
  assert.equal(cl.json.groups.chat_servers, 1);
  await c.close();
  await node.stop();
});

test('without --auth-secret, history and cluster stay open and per room; /metrics per room only with --metrics-per-room', async () => {
  const node = await startNode({ name: 'open' });
  const perRoom = await startNode({ name: 'perroom', flags: { 'metrics-per-room': 1 } });
  const room = unique('openroom');
  for (const n of [node, perRoom]) {
    const c = await connect(n, { user: unique('u'), rooms: [room] });
    await c.awaitJoined([room]);
    await c.say(room, 'hello');
    assert.equal((await getJson(n.url(`/api/rooms/${room}/history`))).json.length, 1);
    await waitFor(async () => (await clusterInfo(n)).groups[`room:${room}`] === 1, 5000, { what: 'the room group' });
    await c.close();
  }
  // By default no series names a room: rooms are users' words, and unbounded.
  await waitFor(async () => /^chat_history_messages 1$/m.test((await getText(node.adminUrl('/metrics'))).text), 5000, {
    what: 'the total history series',
  });
  const text = (await getText(node.adminUrl('/metrics'))).text;
  assert.ok(!text.includes(room), 'no room name in /metrics by default');
  assert.match(text, /^chat_group_members\{group="chat_servers"\} 1$/m);
  const m = await metrics(perRoom);
  assert.equal(m.get(`chat_history_messages{room="${room}"}`), 1);
  await waitFor(async () => (await metrics(perRoom)).get(`chat_group_members{group="room:${room}"}`) === 1, 5000, {
    what: 'the room group in /metrics',
  });
  await node.stop();
  await perRoom.stop();
});
