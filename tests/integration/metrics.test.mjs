// /metrics on the admin port, read as Prometheus reads it: the whole text
// parsed strictly (lib/prometheus.mjs), and each metric an operator alerts on
// moved by the event it counts: publish-to-ack, replication round trip and
// delivery lag histograms, connections opened and closed by reason, upgrade
// refusals by code, peers up and down, discovery errors, the process_*
// metrics and chat_build_info.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after } from 'node:test';

import { connect, unique, upgradeStatus } from './lib/client.mjs';
import { getText } from './lib/http.mjs';
import { CHATD_BIN, cluster, freePort, REPO, startNode, waitFor } from './lib/node.mjs';
import { histogram, parseExposition, sample } from './lib/prometheus.mjs';
import { cleanup, test } from './lib/test.mjs';

after(cleanup);

async function scrape(node) {
  const res = await getText(node.adminUrl('/metrics'));
  assert.equal(res.status, 200, `/metrics on ${node.name}`);
  assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  return parseExposition(res.text);
}

/** Waits until `fn(families)` holds on a fresh scrape of `node`. */
async function scrapeUntil(node, fn, what) {
  let last;
  await waitFor(async () => fn((last = await scrape(node))), 10_000, { what: () => what });
  return last;
}

test('the strict reader refuses what Prometheus would: it can fail', () => {
  const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total 1\n';
  parseExposition(ok);
  const bad = {
    'no TYPE': '# HELP a_total A.\na_total 1\n',
    'no HELP': '# TYPE a_total counter\na_total 1\n',
    'a negative counter': '# HELP a_total A.\n# TYPE a_total counter\na_total -1\n',
    'a series twice': `${ok}a_total 2\n`,
    'no final newline': ok.trimEnd(),
    'a bad label': '# HELP g G.\n# TYPE g gauge\ng{1x="y"} 1\n',
    'an unclosed label': '# HELP g G.\n# TYPE g gauge\ng{x="y} 1\n',
    'not a number': '# HELP g G.\n# TYPE g gauge\ng one\n',
  };
  const h = (buckets, count) =>
    `# HELP h H.\n# TYPE h histogram\n${buckets.map(([le, n]) => `h_bucket{le="${le}"} ${n}\n`).join('')}h_sum 1\nh_count ${count}\n`;
  parseExposition(h([['0.1', 1], ['+Inf', 2]], 2));
  bad['+Inf bucket not _count'] = h([['0.1', 1], ['+Inf', 2]], 3);
  bad['falling buckets'] = h([['0.1', 2], ['1', 1], ['+Inf', 2]], 2);
  bad['no +Inf bucket'] = h([['0.1', 2]], 2);
  bad['le not ascending'] = h([['1', 1], ['0.1', 1], ['+Inf', 2]], 2);
  for (const [what, text] of Object.entries(bad)) assert.throws(() => parseExposition(text), Error, what);
});

test('publish-to-ack, replication round trip and delivery lag are histograms that count each publish, batch and message', { timeout: 60_000 }, async () => {
  const [a, b] = await cluster(2, { prefix: 'lat' });
  const room = unique('lat');
  const before = { a: await scrape(a), b: await scrape(b) };
  const count = (f, name) => histogram(f, name).count;
  const writer = await connect(a, { user: unique('w'), rooms: [room] });
  const reader = await connect(b, { user: unique('r'), rooms: [room] });
  await writer.awaitJoined([room]);
  await reader.awaitJoined([room]);
  const n = 12;
  for (let i = 0; i < n; i++) await writer.say(room, `m${i}`);
  for (let i = 0; i < n; i++) await reader.next({ type: 'message', text: `m${i}` });

  const fa = await scrape(a);
  const acks = histogram(fa, 'chat_publish_ack_seconds');
  assert.equal(acks.count - count(before.a, 'chat_publish_ack_seconds'), n, 'one publish-to-ack sample per ack');
  assert.ok(acks.sum > 0 && acks.sum < n * 5, `publish-to-ack sum ${acks.sum} s`);
  const rtt = histogram(fa, 'chat_replication_rtt_seconds');
  const batches = rtt.count - count(before.a, 'chat_replication_rtt_seconds');
  assert.ok(batches >= 1 && batches <= n, `${batches} replicate batch answers for ${n} messages`);
  assert.ok(rtt.sum > 0, 'a round trip takes time');
  assert.ok(count(fa, 'chat_delivery_lag_seconds') - count(before.a, 'chat_delivery_lag_seconds') >= n, 'lag on the origin');
  const fb = await scrape(b);
  assert.equal(count(fb, 'chat_delivery_lag_seconds') - count(before.b, 'chat_delivery_lag_seconds'), n, 'lag on the peer: once per message');
  assert.equal(count(fb, 'chat_publish_ack_seconds'), count(before.b, 'chat_publish_ack_seconds'), 'b published nothing');
  const lag = histogram(fb, 'chat_delivery_lag_seconds');
  // The two nodes share this machine's clock: every lag is short.
  const within5s = lag.buckets.find((x) => x.le === 5).count;
  assert.equal(within5s, lag.count, 'every lag under 5 s on one machine');
});

test('connections opened and closed are counted, closed by reason: client, network, too_big, idle_timeout, shutdown', { timeout: 60_000 }, async () => {
  const node = await startNode({ name: 'closes' });
  const closed = (f, reason) => sample(f, 'chat_connections_closed_total', { reason });
  const f0 = await scrape(node);
  assert.equal(sample(f0, 'chat_connections_opened_total'), 0);
  for (const r of ['client', 'network', 'idle_timeout', 'too_big', 'slow_consumer', 'token_expired', 'shutdown', 'internal_error', 'policy'])
    assert.equal(closed(f0, r), 0, `the ${r} series exists from the start`);

  const polite = await connect(node, { user: unique('polite'), rooms: '' });
  const rude = await connect(node, { user: unique('rude'), rooms: '' });
  const big = await connect(node, { user: unique('big'), rooms: '' });
  await scrapeUntil(node, (f) => sample(f, 'chat_connections_opened_total') === 3, 'three opened');
  await polite.close();
  await scrapeUntil(node, (f) => closed(f, 'client') === 1, 'closed by the client: 1');
  rude.terminate();
  await scrapeUntil(node, (f) => closed(f, 'network') === 1, 'closed without a close frame: network 1');
  await big.sendRaw('x'.repeat(70_000)); // over --max-frame-bytes (64 KiB)
  assert.equal((await big.closed()).code, 1009);
  await scrapeUntil(node, (f) => closed(f, 'too_big') === 1, 'too_big 1');

  // A client that answers no ping (it reads nothing) is dropped after twice
  // the idle time.
  const quietNode = await startNode({ name: 'closes-idle', flags: { 'idle-ping-ms': 300 } });
  const quiet = await connect(quietNode, { user: unique('quiet'), rooms: '' });
  quiet.pause();
  await scrapeUntil(quietNode, (f) => closed(f, 'idle_timeout') === 1, 'idle_timeout 1');
  quiet.terminate();

  // A stopping node closes its connections with 1001: gone before a scrape
  // could see it, so the count is read while the drain holds the node up.
  const drainNode = await startNode({ name: 'closes-drain', flags: { 'drain-grace-ms': 3000 } });
  const stays = await connect(drainNode, { user: unique('stays'), rooms: '' });
  drainNode.kill('SIGTERM');
  assert.equal((await stays.closed(10_000)).code, 1001);
  const f = await scrapeUntil(drainNode, (x) => closed(x, 'shutdown') === 1, 'shutdown 1 while draining');
  assert.equal(closed(f, 'client') + closed(f, 'network'), 0, 'and nothing else');
  const fn = await scrape(node);
  assert.equal(closed(fn, 'shutdown'), 0, 'the other node counted no shutdown');
  assert.equal(sample(fn, 'chat_connections_opened_total'), 3);
});

test('refused upgrades are counted by the error code of the answer', async () => {
  const node = await startNode({ name: 'refusals', flags: { 'max-rooms': 2 } });
  const refused = (f, code) => sample(f, 'chat_upgrade_refusals_total', { code });
  const tries = [
    [node.wsUrl({ rooms: 'a' }), {}, 400, 'bad_request'], // no user
    [node.wsUrl({ user: 'u', rooms: 'a,b,c' }), {}, 400, 'too_many_rooms'],
    [node.wsUrl({ user: 'u', rooms: 'a' }), { origin: 'http://evil.example' }, 403, 'forbidden'],
    [node.wsUrl({ user: 'u', rooms: 'a' }), { origin: 'http://evil.example' }, 403, 'forbidden'],
  ];
  for (const [url, headers, status, code] of tries) {
    const res = await upgradeStatus(url, { headers });
    assert.equal(res.status, status);
    assert.equal(res.json.error, code);
  }
  const f = await scrape(node);
  assert.equal(refused(f, 'bad_request'), 1);
  assert.equal(refused(f, 'too_many_rooms'), 1);
  assert.equal(refused(f, 'forbidden'), 2);
  assert.equal(refused(f, 'unauthorized'), 0);
  assert.equal(sample(f, 'chat_connections_opened_total'), 0, 'a refused upgrade opens nothing');
});

test('peers up and down are counted; discovery counts unreachable peers and names that do not resolve', { timeout: 60_000 }, async () => {
  const [a, b] = await cluster(2, { prefix: 'updown' });
  const f0 = await scrape(a);
  assert.equal(sample(f0, 'chat_peer_up_total'), 1, 'b came up once');
  assert.equal(sample(f0, 'chat_peer_down_total'), 0);
  const unreachable0 = sample(f0, 'chat_discovery_errors_total', { kind: 'unreachable' });
  b.kill('SIGKILL');
  await scrapeUntil(a, (f) => sample(f, 'chat_peer_down_total') === 1, 'b went down once');
  // b's cluster port is closed now: every discovery round finds it so.
  await scrapeUntil(a, (f) => sample(f, 'chat_discovery_errors_total', { kind: 'unreachable' }) >= unreachable0 + 2, 'unreachable counted');
  await b.start();
  const f1 = await scrapeUntil(a, (f) => sample(f, 'chat_peer_up_total') === 2, 'b came up again');
  assert.equal(sample(f1, 'chat_cluster_peers'), 1);

  // An empty label makes the name invalid: it fails in the resolver itself,
  // without asking any DNS server.
  const lost = await startNode({ name: 'lost', peers: ['no..such.node:9000', `127.0.0.1:${await freePort()}`] });
  await scrapeUntil(
    lost,
    (f) => sample(f, 'chat_discovery_errors_total', { kind: 'resolve' }) >= 2 && sample(f, 'chat_discovery_errors_total', { kind: 'unreachable' }) >= 2,
    'resolve and unreachable errors on a node whose peers do not exist',
  );
});

test('process_* metrics describe this process; chat_build_info names the version and the commit', async () => {
  const startedBefore = Date.now() / 1000;
  const node = await startNode({ name: 'process' });
  const f = await scrape(node);
  const rss = sample(f, 'process_resident_memory_bytes');
  assert.ok(rss > 4 * 2 ** 20 && rss < 4 * 2 ** 30, `resident memory ${rss}`);
  assert.ok(sample(f, 'process_virtual_memory_bytes') >= rss);
  const fds = sample(f, 'process_open_fds');
  assert.ok(fds >= 5 && fds < sample(f, 'process_max_fds'), `open fds ${fds}`);
  const start = sample(f, 'process_start_time_seconds');
  assert.ok(start >= startedBefore - 2 && start <= Date.now() / 1000 + 1, `start time ${start}, test began ${startedBefore}`);
  const cpu0 = sample(f, 'process_cpu_seconds_total');
  assert.ok(cpu0 > 0, 'some CPU spent starting');
  assert.equal(f.get('process_cpu_seconds_total').type, 'counter');
  // Connections cost file descriptors, and the count follows them. Measured
  // down from four open connections: the count before them can include an
  // HTTP connection of the start-up probe that closes in the meantime.
  const clients = await Promise.all([1, 2, 3, 4].map(() => connect(node, { user: unique('fd'), rooms: '' })));
  const f2 = await scrape(node);
  const withFour = sample(f2, 'process_open_fds');
  assert.ok(withFour >= 5 + 4, `open fds with four connections ${withFour}`);
  assert.ok(sample(f2, 'process_cpu_seconds_total') >= cpu0);
  for (const c of clients) await c.close();
  await scrapeUntil(node, (f3) => sample(f3, 'process_open_fds') <= withFour - 4, 'four connections closed, four fds fewer');

  const info = f.get('chat_build_info');
  assert.equal(info.type, 'gauge');
  assert.equal(info.samples.length, 1);
  const { version, commit } = info.samples[0].labels;
  assert.equal(info.samples[0].value, 1);
  assert.match(version, /^\d+\.\d+\.\d+$/);
  let head = null;
  try {
    head = execFileSync('git', ['-C', REPO, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout: the build says "unknown"
  }
  if (head) assert.match(commit, new RegExp(`^${head}(-dirty)?$`), 'the commit this checkout is at (rebuild after committing)');
  else assert.equal(commit, 'unknown');
  // The binary says the same of itself.
  assert.equal(execFileSync(CHATD_BIN, ['--version'], { encoding: 'utf8' }), `chatd ${version} (commit ${commit})\n`);
});

test('no per-room series by default: rooms are user-made and would grow /metrics without bound', async () => {
  const node = await startNode({ name: 'noroom' });
  const rooms = [unique('r'), unique('r'), unique('r')];
  const c = await connect(node, { user: unique('u'), rooms });
  await c.awaitJoined(rooms);
  for (const r of rooms) await c.say(r, 'hi');
  const res = await getText(node.adminUrl('/metrics'));
  for (const r of rooms) assert.ok(!res.text.includes(r), `no series names room ${r}`);
  const f = parseExposition(res.text);
  assert.equal(f.get('chat_history_messages').samples.length, 1, 'one chat_history_messages series');
  assert.equal(sample(f, 'chat_history_messages'), 3);
  assert.equal((await getText(node.url('/metrics'))).status, 404, 'and none of it on the public port');
});
