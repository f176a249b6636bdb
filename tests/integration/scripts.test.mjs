// scripts/cluster.sh, the local cluster the README's first command starts:
// it reports "up" only when every node it started answers with its own
// name, and a node that cannot start (its port taken) stops the whole
// cluster with a message and exit 1 — never "is up" over someone else's
// process. Stopping the script stops every node. Each node keeps its
// history in a data dir of its own (DATA_BASE/nodeI, by default under the
// script's state dir), which brings the history back when the cluster is
// started again; DATA_BASE=none keeps it in memory only; a node that finds
// its store damaged (exit code 3) stops the cluster with a hint to move the
// directory away, after which it starts empty. Started the default way (no
// PLAINTEXT), it makes a CA and node certificates and the nodes speak mutual
// TLS on the cluster port, across which a message still reaches the other node.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

import { converge } from './lib/checks.mjs';
import { connect, unique } from './lib/client.mjs';
import { getJson, roomHistory } from './lib/http.mjs';
import { CHATD_BIN, HOST, REPO, freePortRun, waitFor } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';

const SCRIPT = path.join(REPO, 'scripts/cluster.sh');
const RUN_TIMEOUT_MS = 60_000;

const running = new Set();
// Each run of the script leads a process group of its own (its nodes are in
// it): a SIGKILL of the script alone would leave its nodes running.
const groups = new Set();
function killGroup(pgid) {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}
const logDirs = [];
after(async () => {
  for (const proc of running) process.kill(proc.pid, 'SIGKILL');
  for (const pgid of groups) killGroup(pgid);
  for (const dir of logDirs) fs.rmSync(dir, { recursive: true, force: true });
  await cleanup();
});

const tempDir = (prefix) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  logDirs.push(dir);
  return dir;
};

/**
 * Starts cluster.sh with n nodes on fresh ports (HTTP ports from `httpBase`
 * + 1 when given) and its state in `logs` (a fresh temp dir unless given: the
 * nodes' data dirs and certificates are under it). The cluster port is
 * plaintext (PLAINTEXT=1) unless `tls`: then the script runs as by default,
 * with mutual TLS. `env` adds to the environment (DATA_BASE), `cwd` is where
 * it is started. `done` resolves to its exit.
 */
async function startScript(n, { httpBase, logs, env = {}, cwd, tls = false } = {}) {
  httpBase ??= (await freePortRun(n)) - 1;
  const clusterBase = (await freePortRun(n)) - 1;
  const adminBase = (await freePortRun(n)) - 1;
  logs ??= tempDir('cluster-sh-');
  const childEnv = { ...process.env };
  delete childEnv.DATA_BASE;
  delete childEnv.PLAINTEXT;
  delete childEnv.CLUSTER_CERTS;
  const proc = spawn('bash', [SCRIPT, String(n)], {
    cwd,
    env: {
      ...childEnv,
      CHATD: CHATD_BIN,
      HTTP_BASE: String(httpBase),
      CLUSTER_BASE: String(clusterBase),
      ADMIN_BASE: String(adminBase),
      CLUSTER_LOGS: logs,
      ...(tls ? {} : { PLAINTEXT: '1' }),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(proc);
  groups.add(proc.pid);
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const timer = setTimeout(() => killGroup(proc.pid), RUN_TIMEOUT_MS);
  const done = new Promise((resolve) =>
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      running.delete(proc);
      resolve({ code, signal });
    }),
  );
  const url = (i) => `http://${HOST}:${httpBase + i}`;
  // What lib/client.mjs and lib/http.mjs need of a node.
  const node = (i) => ({
    name: `node${i}`,
    url: (p = '/') => url(i) + p,
    wsUrl: (q = {}) => `ws://${HOST}:${httpBase + i}/ws?${new URLSearchParams(Object.entries(q).filter(([, v]) => v != null))}`,
  });
  return { proc, done, output: () => out, url, node, httpBase, logs };
}

async function startUp(n, opts) {
  const run = await startScript(n, opts);
  await Promise.race([
    // The last line it prints once up, after one line per node.
    waitFor(() => /is up[^]*Ctrl-C stops the cluster/.test(run.output()), 45_000, { what: () => `"is up" in:\n${run.output()}` }),
    run.done.then(({ code }) => assert.fail(`cluster.sh exited (${code}) before "is up":\n${run.output()}`)),
  ]);
  return run;
}

async function stopScript(run) {
  process.kill(run.proc.pid, 'SIGTERM');
  return run.done;
}

/** A RocksDB store has been opened in dir (it writes CURRENT when it creates one). */
const hasStore = (dir) => fs.existsSync(path.join(dir, 'CURRENT'));

async function refused(url) {
  try {
    await getJson(`${url}/healthz`, { timeoutMs: 1000 });
    return false;
  } catch {
    return true;
  }
}

test('cluster.sh starts every node, says so, and stops them all when stopped', { timeout: 90_000 }, async () => {
  const run = await startUp(2);
  for (const i of [1, 2]) {
    const res = await getJson(`${run.url(i)}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(res.json.node, `node${i}`);
    assert.match(run.output(), new RegExp(`node${i}  http://127.0.0.1:${run.httpBase + i}/`));
  }
  await stopScript(run);
  for (const i of [1, 2]) assert.ok(await refused(run.url(i)), `node${i} stopped with the script`);
});

test('cluster.sh fails loudly when a node cannot take its port, even if something answers there', { timeout: 90_000 }, async () => {
  // An impostor on node 2's port answers every request with 200, as an old
  // node left running would answer /readyz.
  const httpBase = (await freePortRun(2)) - 1;
  const impostor = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"node":"someone else"}'));
  await new Promise((resolve) => impostor.listen(httpBase + 2, HOST, resolve));
  try {
    const run = await startScript(2, { httpBase });
    const { code } = await run.done;
    assert.equal(code, 1, `cluster.sh exits 1:\n${run.output()}`);
    assert.match(run.output(), /node2 exited while starting/);
    assert.doesNotMatch(run.output(), /is up/);
    assert.ok(await refused(`http://${HOST}:${httpBase + 1}`), 'node1 was stopped too');
  } finally {
    await new Promise((resolve) => impostor.close(resolve));
  }
});

test('cluster.sh gives each node a data dir of its own, and a cluster started again has its history back', { timeout: 90_000 }, async () => {
  const run = await startUp(2);
  const dirs = [1, 2].map((i) => path.join(run.logs, 'data', `node${i}`));
  for (const [k, dir] of dirs.entries()) {
    const i = k + 1;
    assert.match(run.output(), new RegExp(`node${i}  http://127\\.0\\.0\\.1:${run.httpBase + i}/  data in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`));
    await waitFor(() => hasStore(dir), 10_000, { what: `node${i}'s store (CURRENT) in ${dir}` });
  }
  const room = unique('durable');
  const c = await connect(run.node(1), { user: unique('u'), rooms: [room] });
  const ack = await c.say(room, 'kept on disk');
  await c.close();
  await waitFor(async () => (await roomHistory(run.node(2), room)).some((m) => m.id === ack.id), 10_000, { what: 'the message on node2' });
  assert.equal((await stopScript(run)).signal, null, 'cluster.sh exits on its own after SIGTERM');

  // node1 alone, on other ports: what it has can only come from its own dir.
  const again = await startUp(1, { logs: run.logs });
  const history = await roomHistory(again.node(1), room);
  assert.deepEqual(history.map((m) => [m.id, m.text]), [[ack.id, 'kept on disk']]);
  await stopScript(again);
});

test('DATA_BASE=DIR puts the data dirs in DIR (relative to the caller), DATA_BASE=none keeps history in memory', { timeout: 90_000 }, async () => {
  const cwd = tempDir('cluster-sh-cwd-');
  const run = await startUp(1, { cwd, env: { DATA_BASE: 'chat-data' } });
  const dir = path.join(cwd, 'chat-data', 'node1');
  assert.match(run.output(), new RegExp(`node1  \\S+  data in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`));
  await waitFor(() => hasStore(dir), 10_000, { what: `node1's store (CURRENT) in ${dir}` });
  assert.ok(!fs.existsSync(path.join(run.logs, 'data')), 'nothing under the default place');
  await stopScript(run);

  const mem = await startUp(1, { env: { DATA_BASE: 'none' } });
  assert.match(mem.output(), /node1  \S+  history in memory only \(DATA_BASE=none\)/);
  const room = unique('memory');
  const c = await connect(mem.node(1), { user: unique('u'), rooms: [room] });
  await c.say(room, 'gone with the node');
  await c.close();
  await stopScript(mem);
  assert.ok(!fs.existsSync(path.join(mem.logs, 'data')), 'no data dir made');
  const memAgain = await startUp(1, { logs: mem.logs, env: { DATA_BASE: 'none' } });
  assert.deepEqual(await roomHistory(memAgain.node(1), room), [], 'nothing survives a memory-only node');
  await stopScript(memAgain);
});

test('a node whose store is damaged stops the cluster with a hint; moved away, it starts empty', { timeout: 90_000 }, async () => {
  const run = await startUp(1);
  const dir = path.join(run.logs, 'data', 'node1');
  await waitFor(() => hasStore(dir), 10_000, { what: `node1's store (CURRENT) in ${dir}` });
  await stopScript(run);
  // CURRENT names the store's manifest; without the newline it is corrupt.
  fs.writeFileSync(path.join(dir, 'CURRENT'), 'garbage');

  const bad = await startScript(1, { logs: run.logs });
  const { code } = await bad.done;
  assert.equal(code, 1, `cluster.sh exits 1:\n${bad.output()}`);
  assert.match(bad.output(), /node1 exited while starting \(exit code 3\)/);
  assert.match(bad.output(), /corrupt/, 'the node log line, shown by the script, says what is wrong');
  assert.match(bad.output(), /could not open its store in \S+node1\. If the log calls it corrupt, move that directory away/);
  assert.doesNotMatch(bad.output(), /is up/);

  fs.renameSync(dir, `${dir}.bad`);
  const fresh = await startUp(1, { logs: run.logs });
  await waitFor(() => hasStore(dir), 10_000, { what: `a new store in ${dir}` });
  assert.equal(fs.readFileSync(path.join(`${dir}.bad`, 'CURRENT'), 'utf8'), 'garbage', 'the damaged copy is left alone');
  await stopScript(fresh);
});

test('cluster.sh by default runs the cluster port with mutual TLS, and its nodes chat across it', { timeout: 90_000 }, async () => {
  const run = await startUp(2, { tls: true, env: { DATA_BASE: 'none' } });
  const certs = path.join(run.logs, 'certs');
  const certsRe = certs.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assert.match(run.output(), new RegExp(`cluster port: mutual TLS, CA and node certificates in ${certsRe}\n`));
  assert.doesNotMatch(run.output(), /PLAINTEXT/);
  for (const f of ['ca.pem', 'node1.pem', 'node1.key', 'node2.pem', 'node2.key']) {
    assert.ok(fs.existsSync(path.join(certs, f)), `${f} in ${certs}`);
  }
  for (const i of [1, 2]) {
    const file = path.join(run.logs, `node${i}.log`);
    const read = () => fs.readFileSync(file, 'utf8');
    const serving = new RegExp(
      `node node${i} serving http://127\\.0\\.0\\.1:${run.httpBase + i}/ cluster 127\\.0\\.0\\.1:\\d+ \\(mutual TLS\\)`,
    );
    await waitFor(() => serving.test(read()), 10_000, { what: () => `${serving} in ${file}:\n${read()}` });
    assert.doesNotMatch(read(), /PLAINTEXT/, `node${i} warns of a plaintext cluster port`);
  }
  const room = unique('tls');
  const a = await connect(run.node(1), { user: unique('ann'), rooms: [room] });
  const b = await connect(run.node(2), { user: unique('bob'), rooms: [room] });
  await converge([a, b], room, [a.welcome.user, b.welcome.user]);
  const ack = await a.say(room, 'across the TLS cluster port');
  const got = await b.next({ type: 'message', id: ack.id }, 10_000);
  assert.equal(got.text, 'across the TLS cluster port');
  a.close();
  b.close();
  await stopScript(run);
  for (const i of [1, 2]) assert.ok(await refused(run.url(i)), `node${i} stopped with the script`);
});
