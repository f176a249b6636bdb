// Runs the fault scenarios on the pods that faults.sh brought up (`pods.sh up 3`),
// writes the report (markdown + JSON) and ends with "N passed, M failed"
// (N, M counted in checks). Exit status 1 when a check failed.
//
// environment:
//   PODS_STATE      pods.sh state directory (node logs are there)
//   FAULTS_REPORT   markdown report path (default build/fault-report.md); the JSON goes next to it
//   FAULTS_ONLY     comma-separated scenario keys to run (default: all, in order)
//   FAULTS_SCENARIO_TIMEOUT_S  bound of one scenario (default 150)
//   FAULTS_RATE     messages per second per client (default 3)
//   FAULTS_PARTITION_HOLD_MS   how long the partition lasts once both sides saw it (default 6000)
//   FAULTS_INFLIGHT_DELAYS     kill-inflight: ms between burst and SIGKILL, one round each
//                              (default 0,2,...,30)

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { NODE_FLAGS, PEER_TIMEOUT_MS, HISTORY_WINDOW, dataDir, direct, isReady, now, peerNames, pods, startPod, until } from './lib/pods.mjs';
import { Scenario, fmtMs, log } from './lib/scenario.mjs';
import { ALL } from './scenarios.mjs';
import { writeReports } from './report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '../../..');
const reportMd = process.env.FAULTS_REPORT || path.join(REPO, 'build', 'fault-report.md');
const only = process.env.FAULTS_ONLY ? process.env.FAULTS_ONLY.split(',').map((s) => s.trim()) : null;
const SCENARIO_TIMEOUT_MS = Number(process.env.FAULTS_SCENARIO_TIMEOUT_S || 150) * 1000;
const D = [1, 2, 3].map(direct);

const sameSet = (a, b) => a.length === b.length && [...a].sort().join() === [...b].sort().join();

/** Every node in `up` ready and seeing exactly the others of `up`; starts, heals, or kills pods to get there. */
async function makeHealthy(sc, up) {
  for (const i of [1, 2, 3]) {
    await pods(['heal', String(i)]);
    const running = (await pods(['pid', String(i)])).code === 0;
    if (up.includes(i) && !running) {
      sc.note(`pod${i} was not running: started it`);
      await startPod(i);
    }
    if (!up.includes(i) && running) await pods(['kill', String(i)]);
  }
  const res = await until(
    async () => {
      for (const i of up) {
        if (!(await isReady(D[i - 1]))) return false;
        const want = up.filter((j) => j !== i).map((j) => `pod${j}`);
        if (!sameSet(await peerNames(D[i - 1]), want)) return false;
      }
      return true;
    },
    30_000,
    { interval: 100 },
  );
  return res;
}

async function formCluster() {
  const sc = new Scenario('cluster', 'Cluster formation', 'Three pods are started with the fault-test flags; they must find each other by DNS.');
  const t0 = now();
  for (const i of [1, 2, 3]) {
    const r = await pods(['start', String(i), ...NODE_FLAGS], { timeoutMs: 30_000 });
    sc.check(`pods.sh start ${i}`, r.code === 0, r.stderr);
  }
  const ready = await until(async () => (await Promise.all(D.map(isReady))).every(Boolean), 30_000, { interval: 50, since: t0 });
  sc.recover('every node ready (/readyz 200)', ready, 30_000);
  const mesh = await until(
    async () => {
      for (const i of [1, 2, 3]) if (!sameSet(await peerNames(D[i - 1]), [1, 2, 3].filter((j) => j !== i).map((j) => `pod${j}`))) return false;
      return true;
    },
    30_000,
    { interval: 50, since: t0 },
  );
  sc.recover('every node sees the two others (found by DNS)', mesh, 30_000);
  sc.summary = `ready ${fmtMs(ready.ok ? ready.ms : null)}, full mesh ${fmtMs(mesh.ok ? mesh.ms : null)}`;
  return sc;
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function main() {
  const started = new Date();
  const t0 = now();
  const results = [];
  log(`fault scenarios: ${(only ?? ALL.map(([k]) => k)).join(', ')}`);

  const setup = await formCluster();
  results.push(setup);
  let abort = setup.passed ? null : 'the cluster did not form';
  if (abort) setup.attachLogs([1, 2, 3]);

  for (const [key, fn] of ALL) {
    if (only && !only.includes(key)) continue;
    if (abort) {
      const sc = new Scenario(key, key, '');
      sc.check('scenario ran', false, `not run: ${abort}`);
      results.push(sc);
      continue;
    }
    log(`\n=== scenario ${key}`);
    const up = key === 'restart' ? [1, 2] : [1, 2, 3];
    const pre = new Scenario(key, key, '');
    // A pod that cannot be started (e.g. the binary is gone) fails this scenario, not the run.
    const healthy = await makeHealthy(pre, up).catch((error) => ({ ok: false, error }));
    let sc;
    if (!healthy.ok) {
      sc = pre;
      sc.check(`cluster healthy before the scenario (${up.map((i) => `pod${i}`).join(', ')} ready, full mesh)`, false, healthy.error?.message ?? 'time-out');
    } else {
      const tS = now();
      let current = null;
      const track = (s) => (current = s);
      try {
        sc = await withTimeout(fn(track), SCENARIO_TIMEOUT_MS, `scenario ${key}`);
      } catch (err) {
        // Keep what the scenario recorded before it failed.
        sc = current ?? new Scenario(key, key, '');
        sc.check('scenario ran to its end', false, err.stack || err.message);
        if (/did not finish within/.test(err.message)) abort = `scenario ${key} timed out`;
      }
      sc.durationMs = now() - tS;
      sc.notes.unshift(...pre.notes);
    }
    if (!sc.passed) sc.attachLogs([1, 2, 3]);
    results.push(sc);
  }

  const totalMs = now() - t0;
  const meta = {
    started: started.toISOString(),
    durationMs: totalMs,
    chatd: process.env.CHATD_BIN || path.join(REPO, 'build', 'chatd'),
    nodeFlags: NODE_FLAGS.join(' '),
    peerTimeoutMs: PEER_TIMEOUT_MS,
    historyWindow: HISTORY_WINDOW,
    podsState: process.env.PODS_STATE || '/tmp/chatpods',
    rate: Number(process.env.FAULTS_RATE || 3),
    dataDirs: [1, 2, 3].map(dataDir),
  };
  const { md, pass, fail } = writeReports(reportMd, meta, results);
  log('');
  log(md);
  log(`report: ${reportMd} (and ${reportMd.replace(/\.md$/, '')}.json)`);
  log(`${pass} passed, ${fail} failed`);
  return fail === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(`runner failed: ${err.stack || err}`);
    log('0 passed, 1 failed');
    process.exit(1);
  },
);
