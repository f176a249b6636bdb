// Mutual TLS on the cluster port. Two nodes with certificates of one CA (on
// 127.0.0.1 and 127.0.0.2) form a cluster and chat. Then two intruders point
// --peers at them: a node with a certificate of another CA, and a plaintext
// node. Before TLS either one joined, got every room's history and every live
// message, and could speak as any user; now both are refused in the
// handshake, which the refusing node logs. Each side verifies on its own: a
// TLS client that checks nothing itself, with no certificate or one of
// another CA, gets no BASP byte from a node's cluster port; and a node whose
// --peers lists a rogue TLS server (certificate of another CA, asking for
// the client's and accepting anything) refuses that server's certificate
// and sends it nothing. A raw client that sends a BASP header with a huge
// payload length (CAF 0.17 allocates it before any check) only reaches the
// TLS record layer. And a node whose key does not fit its
// certificate, or whose certificate the CA did not sign, refuses to start.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { after, before } from 'node:test';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';

import { makeCerts } from './lib/certs.mjs';
import { converge } from './lib/checks.mjs';
import { QUIET_MS, connect, unique } from './lib/client.mjs';
import { metrics, roomHistory } from './lib/http.mjs';
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
    s1: 'IP:127.0.0.6',
    insider: 'IP:127.0.0.1',
    d1: 'IP:127.0.0.8',
  });
  foreign = makeCerts('foreign', { x1: 'IP:127.0.0.3', rogue: 'IP:127.0.0.7' });
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

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A TLS client to `node`'s cluster port that verifies nothing itself
 * (rejectUnauthorized: false), from `localAddress`, presenting `cred`
 * ({ cert, key }) or no certificate. It never speaks after the handshake.
 * Resolves once the connection is closed, by the server or by the probe
 * after the first application data (BASP: the node speaks first to a client
 * it admitted), to { localPort, bytes, error, timedOut }.
 */
function tlsProbe(node, { cred = null, localAddress }) {
  return new Promise((resolve) => {
    const opts = { host: node.host, port: node.clusterPort, localAddress, rejectUnauthorized: false };
    if (cred) Object.assign(opts, { cert: fs.readFileSync(cred.cert), key: fs.readFileSync(cred.key) });
    const r = { localPort: null, bytes: 0, error: null, timedOut: false };
    const s = tls.connect(opts);
    s.on('connect', () => (r.localPort = s.localPort));
    s.on('data', (d) => {
      r.bytes += d.length;
      s.destroy();
    });
    s.on('error', (err) => (r.error = err));
    s.setTimeout(10_000, () => {
      r.timedOut = true;
      s.destroy();
    });
    s.on('close', () => resolve(r));
  });
}

test('the cluster port refuses a client without a certificate or with one of another CA, before any BASP byte', async () => {
  const s1 = await makeNode({ name: 's1', host: '127.0.0.6', tls: certs.forNode('s1') });
  await s1.start();
  // What the probe sees of a node that admits it: BASP bytes at once.
  const admitted = await tlsProbe(s1, { cred: certs.forNode('insider'), localAddress: '127.0.0.11' });
  assert.ok(admitted.bytes > 0, `a certificate of the cluster's CA gets BASP bytes (${JSON.stringify(admitted)})`);

  // Each from an address of its own: the log is rate-limited per address and reason.
  const cases = [
    {
      what: 'no certificate',
      cred: null,
      localAddress: '127.0.0.12',
      alert: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      reason: 'peer did not return a certificate',
    },
    {
      what: 'a certificate of another CA',
      cred: foreign.forNode('x1'),
      localAddress: '127.0.0.13',
      alert: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
      reason: 'certificate verify failed',
    },
  ];
  for (const { what, cred, localAddress, alert, reason } of cases) {
    const from = log(s1).length;
    const r = await tlsProbe(s1, { cred, localAddress });
    assert.equal(r.timedOut, false, `${what}: the node closes the connection`);
    assert.equal(r.bytes, 0, `${what}: no application data from the node`);
    // TLS 1.3: the client's side of the handshake is done before the server
    // has checked the client's certificate; the server's alert says why it refuses.
    assert.equal(r.error?.code, alert, `${what}: the node's alert (${r.error?.message})`);
    const peer = `${escapeRe(localAddress)}:${r.localPort}`;
    await logLine(s1, new RegExp(`cluster TLS: refused connection from ${peer}: handshake failed: ${reason}$`), {
      from,
      timeoutMs: 5000,
    });
  }
  assert.deepEqual((await clusterInfo(s1)).peers, [], 's1 lists no peer');
  assert.equal((await metrics(s1)).get('chat_cluster_peers'), 0);
  await s1.stop();
});

/**
 * A TLS server on `host` (loopback), any port, with the certificate `cred`,
 * that asks for the client's certificate and accepts whatever comes. Counts
 * connections, completed handshakes, application bytes received, and the
 * errors of handshakes that did not complete (a client's alert among them).
 */
async function rogueTlsServer(cred, host) {
  const seen = { connections: 0, handshakes: 0, bytes: 0, clientErrors: [] };
  const sockets = new Set();
  const server = tls.createServer({
    cert: fs.readFileSync(cred.cert),
    key: fs.readFileSync(cred.key),
    requestCert: true,
    rejectUnauthorized: false,
  });
  server.on('connection', (sock) => {
    seen.connections += 1;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  server.on('tlsClientError', (err) => seen.clientErrors.push(err.code ?? err.message));
  server.on('secureConnection', (sock) => {
    seen.handshakes += 1;
    sock.on('data', (d) => (seen.bytes += d.length));
    sock.on('error', () => {});
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return {
    seen,
    addr: `${host}:${server.address().port}`,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

test('a node does not join a rogue TLS server in its --peers whose certificate another CA signed', async () => {
  const rogue = await rogueTlsServer(foreign.forNode('rogue'), '127.0.0.7');
  try {
    const d1 = await makeNode({ name: 'd1', host: '127.0.0.8', peers: [rogue.addr], tls: certs.forNode('d1') });
    await d1.start();
    const addr = escapeRe(rogue.addr);
    await logLine(d1, new RegExp(`cluster TLS: handshake with ${addr} failed: certificate verify failed$`));
    await logLine(d1, new RegExp(`discovery: TLS connect to ${addr} failed`));
    // Discovery dials every 500 ms: let it try again, and be refused again.
    const alerts = () => rogue.seen.clientErrors.filter((c) => c === 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA').length;
    await waitFor(() => alerts() >= 2, 10_000, {
      what: () => `two "unknown ca" alerts from d1 (${JSON.stringify(rogue.seen)})`,
    });
    assert.equal(rogue.seen.handshakes, 0, `no handshake with the rogue completed (${JSON.stringify(rogue.seen)})`);
    assert.equal(rogue.seen.bytes, 0, 'the rogue got no application data');
    assert.deepEqual((await clusterInfo(d1)).peers, [], 'd1 lists no peer');
    assert.equal((await metrics(d1)).get('chat_cluster_peers'), 0);
    await d1.stop();
  } finally {
    await rogue.close();
  }
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
