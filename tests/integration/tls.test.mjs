// Mutual TLS on the cluster port. Two nodes with certificates of one CA (on
// 127.0.0.1 and 127.0.0.2) form a cluster and chat. Then two intruders point
// --peers at them: a node with a certificate of another CA, and a plaintext
// node. Before TLS either one joined, got every room's history and every live
// message, and could speak as any user; now both are refused in the
// handshake, which the refusing node logs. A raw client that sends a BASP
// header with a huge payload length (CAF 0.17 allocates it before any check)
// only reaches the TLS record layer. And a node whose key does not fit its
// certificate, or whose certificate the CA did not sign, refuses to start.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { makeCerts } from './lib/certs.mjs';
import { converge } from './lib/checks.mjs';
import { QUIET_MS, connect, unique } from './lib/client.mjs';
import { roomHistory } from './lib/http.mjs';
import { ChatNode, clusterInfo, freePort, makeNode, waitFor, waitPeerCount } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';

const ROOM = 'lobby';
let certs;
let foreign;
let t1;
let t2;
const peers = () => [t1.clusterAddr, t2.clusterAddr];

function log(node) {
  return fs.readFileSync(node.logFile, 'utf8');
}

/** Waits until the log of `node`, after its first `from` characters, has a line matching `re`; returns the line. */
async function logLine(node, re, { from = 0, timeoutMs = 25_000 } = {}) {
  return waitFor(() => log(node).slice(from).split('\n').find((l) => re.test(l)), timeoutMs, {
    what: `${node.name} to log ${re}`,
  });
}

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) / 1024;
}

before(async () => {
  certs = makeCerts('cluster', {
    t1: 'IP:127.0.0.1,DNS:t1.local',
    t2: 'IP:127.0.0.2,DNS:t2.local',
    wrongkey: 'IP:127.0.0.5',
    t2next: 'IP:127.0.0.2,DNS:t2.local',
  });
  foreign = makeCerts('foreign', { x1: 'IP:127.0.0.3' });
  const ports = [];
  for (let i = 0; i < 2; i++) ports.push({ http: await freePort(), cluster: await freePort() });
  const addrs = ['127.0.0.1', '127.0.0.2'].map((h, i) => `${h}:${ports[i].cluster}`);
  t1 = new ChatNode({ name: 't1', host: '127.0.0.1', httpPort: ports[0].http, clusterPort: ports[0].cluster, peers: addrs, tls: certs.forNode('t1') });
  t2 = new ChatNode({ name: 't2', host: '127.0.0.2', httpPort: ports[1].http, clusterPort: ports[1].cluster, peers: addrs, tls: certs.forNode('t2') });
  await Promise.all([t1.start(), t2.start()]);
  await Promise.all([waitPeerCount(t1, 1), waitPeerCount(t2, 1)]);
});
after(cleanup);

test('two nodes with certificates of one CA form a cluster over TLS and chat across nodes', async () => {
  assert.match(log(t1), /cluster 127\.0\.0\.1:\d+ \(mutual TLS\)/);
  assert.doesNotMatch(log(t1), /PLAINTEXT/);
  assert.deepEqual((await clusterInfo(t1)).peers.map((p) => p.node), ['t2']);
  assert.deepEqual((await clusterInfo(t2)).peers.map((p) => p.node), ['t1']);
  const a = await connect(t1, { user: unique('ann'), rooms: [ROOM] });
  const b = await connect(t2, { user: unique('bob'), rooms: [ROOM] });
  await converge([a, b], ROOM, [a.welcome.user, b.welcome.user]);
  const sent = await a.say(ROOM, 'over TLS');
  await b.next({ type: 'message', id: sent.id });
  await waitFor(async () => (await roomHistory(t2, ROOM)).some((m) => m.id === sent.id), 10_000, { what: 'the message in t2 history' });
  a.close();
  b.close();
});

/**
 * Starts `intruder` with --peers at the cluster and shows it is kept out:
 * the refusal is logged by a cluster node, nobody lists it, it gets no
 * history, and no message crosses in either direction.
 */
async function keptOut(intruder, refusedRe) {
  // The cluster has history and a live client before the intruder comes.
  const inside = await connect(t1, { user: unique('ins'), rooms: [ROOM] });
  await inside.awaitJoined([ROOM]);
  const before = await inside.say(ROOM, 'said before the intruder came');
  await waitFor(async () => (await roomHistory(t2, ROOM)).some((m) => m.id === before.id), 10_000, { what: 'history on t2' });

  // The intruder dials from 127.0.0.1 (the kernel picks the source address),
  // so the refusal is told apart by time: lines logged after it starts.
  const from1 = log(t1).length;
  const from2 = log(t2).length;
  await intruder.start();
  // Discovery on the intruder dials both nodes every 500 ms; wait for both
  // refusals, so that every path in has been tried.
  const line = await logLine(t1, refusedRe, { from: from1 });
  await logLine(t2, refusedRe, { from: from2 });
  assert.match(line, /cluster TLS: (refused connection from 127\.0\.0\.\d+:\d+: handshake failed: \S|no TLS handshake with 127\.0\.0\.\d+:\d+ within)/);

  const out = await connect(intruder, { user: unique('out'), rooms: [ROOM] });
  await out.awaitJoined([ROOM]);
  const fromOut = await out.say(ROOM, 'from the intruder');
  const fromIn = await inside.say(ROOM, 'from inside');
  // Two more dial rounds of the intruder, then look.
  await sleep(1000 + QUIET_MS);

  for (const n of [t1, t2]) {
    const info = await clusterInfo(n);
    assert.deepEqual(info.peers.map((p) => p.node), [n === t1 ? 't2' : 't1'], `${n.name} peers`);
    const hist = await roomHistory(n, ROOM);
    assert.ok(!hist.some((m) => m.id === fromOut.id), `${n.name} has the intruder's message`);
  }
  assert.deepEqual((await clusterInfo(intruder)).peers, [], 'the intruder lists peers');
  const outHist = await roomHistory(intruder, ROOM);
  assert.ok(!outHist.some((m) => m.id === before.id || m.id === fromIn.id), "the intruder got the cluster's history");
  assert.deepEqual(outHist.map((m) => m.id), [fromOut.id], "the intruder's history is its own message only");
  assert.equal(out.seen({ type: 'message', id: fromIn.id }).length, 0, 'the intruder got a live message');
  assert.equal(inside.seen({ type: 'message', id: fromOut.id }).length, 0, 'the cluster got the intruder message');
  assert.ok(!inside.presentUsers(ROOM).has(out.welcome.user), 'the intruder user shows in the cluster');
  assert.match(log(intruder), /discovery: TLS connect to .* failed|PLAINTEXT/);
  out.close();
  inside.close();
  await intruder.stop();
}

test('a node with a certificate of another CA is refused, and the refusal is logged', { timeout: 60_000 }, async () => {
  const x1 = await makeNode({ name: 'x1', host: '127.0.0.3', peers: peers(), tls: foreign.forNode('x1') });
  await keptOut(x1, /refused connection from 127\.0\.0\.\d+:\d+: handshake failed: .*(unknown ca|certificate verify failed)/);
  assert.match(log(x1), /discovery: TLS connect to 127\.0\.0\.[12]:\d+ failed/);
});

// A plaintext CAF node connects and waits for the server to speak first, as
// BASP does; the TLS node waits for a ClientHello. Nothing moves until the
// TLS node's handshake deadline (10 s) closes the connection and logs it.
test('a plaintext node is refused, and the refusal is logged', { timeout: 60_000 }, async () => {
  const p1 = await makeNode({ name: 'p1', host: '127.0.0.4', peers: peers() });
  await keptOut(p1, /(refused connection from|no TLS handshake with) 127\.0\.0\.\d+:\d+/);
  assert.match(log(p1), /PLAINTEXT/);
});

test('a BASP header with a huge payload length only reaches the TLS record layer', async () => {
  const rssBefore = rssMb(t1.pid);
  const from = log(t1).length;
  const sockets = [];
  for (let i = 0; i < 3; i++) {
    sockets.push(
      new Promise((resolve, reject) => {
        // From an address of its own: the log is rate-limited per address and reason.
        const s = net.connect({ host: t1.host, port: t1.clusterPort, localAddress: '127.0.0.9' }, () => {
          // 32 bytes of 0xff: a BASP 0.17 header whose payload length is ~4 GB.
          s.write(Buffer.concat([Buffer.alloc(32, 0xff), crypto.randomBytes(4096)]));
        });
        s.setTimeout(10_000, () => reject(new Error('the node kept the garbage connection open')));
        s.on('error', () => {}); // a reset is as good as a close
        s.on('close', resolve);
      }),
    );
  }
  await Promise.all(sockets); // the node closed each one
  await logLine(t1, /refused connection from 127\.0\.0\.9:\d+: handshake failed: (wrong version number|packet length too long|record layer failure|http request|unknown protocol)/, { from });
  const rss = rssMb(t1.pid);
  assert.ok(rss < 200, `RSS of t1 is ${rss.toFixed(0)} MB (was ${rssBefore.toFixed(0)} MB)`);
  // Still serving, still clustered.
  const a = await connect(t1, { user: unique('ann'), rooms: [ROOM] });
  const b = await connect(t2, { user: unique('bob'), rooms: [ROOM] });
  await converge([a, b], ROOM, [a.welcome.user, b.welcome.user]);
  const sent = await a.say(ROOM, 'still here');
  await b.next({ type: 'message', id: sent.id });
  a.close();
  b.close();
});

test('a connection that never starts a TLS handshake is closed after the deadline, and logged', async () => {
  const from = log(t1).length;
  await new Promise((resolve, reject) => {
    const s = net.connect({ host: t1.host, port: t1.clusterPort, localAddress: '127.0.0.10' });
    s.setTimeout(20_000, () => reject(new Error('the node kept a silent connection open for 20 s')));
    s.on('error', () => {});
    s.on('close', resolve);
  });
  await logLine(t1, /no TLS handshake with 127\.0\.0\.10:\d+ within 10 s/, { from });
});

test('a node whose key does not fit its certificate, or whose certificate the CA did not sign, refuses to start', async () => {
  const cases = [
    [{ ...certs.forNode('wrongkey'), key: certs.forNode('t1').key }, /does not belong to the certificate/],
    [{ ...foreign.forNode('x1'), ca: certs.ca }, /does not verify against --cluster-tls-ca/],
    [{ ...certs.forNode('wrongkey'), ca: `${certs.dir}/missing.pem` }, /--cluster-tls-ca .*missing\.pem: No such file/],
  ];
  for (const [tls, re] of cases) {
    const bad = await makeNode({ name: 'bad', host: '127.0.0.5', tls });
    await assert.rejects(bad.start({ readyTimeoutMs: 10_000 }), /exited before it was ready/);
    assert.equal(bad.exitInfo.code, 2);
    assert.match(log(bad), re);
  }
});

/** The serial of the certificate a node presents on its cluster port (openssl s_client, as t1). */
function servedSerial(node) {
  const t1c = certs.forNode('t1');
  const res = spawnSync(
    'openssl',
    ['s_client', '-connect', node.clusterAddr, '-cert', t1c.cert, '-key', t1c.key, '-CAfile', t1c.ca, '-verify_return_error'],
    { input: '', encoding: 'utf8', timeout: 10_000 },
  );
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(res.stdout ?? '');
  if (!pem) throw new Error(`no certificate from ${node.name}: ${res.stderr}`);
  return new crypto.X509Certificate(pem[0]).serialNumber;
}

test('a replaced certificate is served to the next connection without a restart', async () => {
  const t2c = certs.forNode('t2');
  const next = certs.forNode('t2next');
  const oldSerial = new crypto.X509Certificate(fs.readFileSync(t2c.cert)).serialNumber;
  const newSerial = new crypto.X509Certificate(fs.readFileSync(next.cert)).serialNumber;
  assert.notEqual(oldSerial, newSerial);
  assert.equal(servedSerial(t2), oldSerial);
  // Atomically, as the kubelet swaps a Secret volume: key first, then the certificate
  // (a connection in between would see a mismatch; none is made here).
  for (const [from, to] of [[next.key, t2c.key], [next.cert, t2c.cert]]) {
    fs.copyFileSync(from, `${to}.new`);
    fs.renameSync(`${to}.new`, to);
  }
  assert.equal(servedSerial(t2), newSerial);
  // The cluster still works: t1 restarted must connect to t2 with its new certificate.
  await t1.restart();
  await Promise.all([waitPeerCount(t1, 1), waitPeerCount(t2, 1)]);
});
