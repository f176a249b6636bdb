// scripts/cluster.sh, the local cluster the README's first command starts:
// it reports "up" only when every node it started answers with its own
// name, and a node that cannot start (its port taken) stops the whole
// cluster with a message and exit 1 — never "is up" over someone else's
// process. Stopping the script stops every node.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

import { getJson } from './lib/http.mjs';
import { CHATD_BIN, HOST, REPO, freePortRun, waitFor } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';

const SCRIPT = path.join(REPO, 'scripts/cluster.sh');
const RUN_TIMEOUT_MS = 60_000;

const running = new Set();
const logDirs = [];
after(async () => {
  for (const proc of running) process.kill(proc.pid, 'SIGKILL');
  for (const dir of logDirs) fs.rmSync(dir, { recursive: true, force: true });
  await cleanup();
});

/**
 * Starts cluster.sh with n plaintext nodes on fresh ports (HTTP ports from
 * `httpBase` + 1 when given); `done` resolves to its exit.
 */
async function startScript(n, { httpBase } = {}) {
  httpBase ??= (await freePortRun(n)) - 1;
  const clusterBase = (await freePortRun(n)) - 1;
  const logs = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-sh-'));
  logDirs.push(logs);
  const proc = spawn('bash', [SCRIPT, String(n)], {
    env: {
      ...process.env,
      CHATD: CHATD_BIN,
      HTTP_BASE: String(httpBase),
      CLUSTER_BASE: String(clusterBase),
      CLUSTER_LOGS: logs,
      PLAINTEXT: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const timer = setTimeout(() => process.kill(proc.pid, 'SIGKILL'), RUN_TIMEOUT_MS);
  const done = new Promise((resolve) =>
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      running.delete(proc);
      resolve({ code, signal });
    }),
  );
  const url = (i) => `http://${HOST}:${httpBase + i}`;
  return { proc, done, output: () => out, url, httpBase };
}

async function refused(url) {
  try {
    await getJson(`${url}/healthz`, { timeoutMs: 1000 });
    return false;
  } catch {
    return true;
  }
}

test('cluster.sh starts every node, says so, and stops them all when stopped', { timeout: 90_000 }, async () => {
  const run = await startScript(2);
  await waitFor(() => /is up/.test(run.output()), 45_000, { what: () => `"is up" in:\n${run.output()}` });
  for (const i of [1, 2]) {
    const res = await getJson(`${run.url(i)}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(res.json.node, `node${i}`);
    assert.match(run.output(), new RegExp(`node${i}  http://127.0.0.1:${run.httpBase + i}/`));
  }
  process.kill(run.proc.pid, 'SIGTERM');
  await run.done;
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
