// The pod cluster as the runner sees it: pods.sh commands (bounded in time),
// endpoints of the nodes (direct TCP, or a Unix socket relayed from inside a
// pod's namespace), HTTP helpers and bounded waits.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { request as httpRequest } from '../../../integration/lib/http.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const PODS_SH = path.resolve(here, '../../pods.sh');
export const PROXY_JS = path.join(here, 'proxy.mjs');
export const HTTP_PORT = 8080;
/** Metrics, the full /api/cluster and the /debug hooks (pods.sh: --admin-addr POD_IP). */
export const ADMIN_PORT = 9180;

/** The node flags of the issue, after the defaults pods.sh sets. */
export const NODE_FLAGS = [
  '--history', '1000',
  '--debug-endpoints',
  '--peer-timeout-ms', '3000',
  '--rate-per-s', '100',
  '--burst', '100',
];
export const PEER_TIMEOUT_MS = 3000;
export const HISTORY_WINDOW = 1000;

export const now = () => performance.now();

// ---------------------------------------------------------------- pods.sh

/**
 * Runs `pods.sh ARGS...` and resolves to { code, stdout, stderr, ms }.
 * A call that outlives timeoutMs is killed (by its PID) and resolves with code -1.
 */
export function pods(args, { timeoutMs = 60_000 } = {}) {
  const t0 = now();
  return new Promise((resolve) => {
    const child = spawn(PODS_SH, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => {
      stderr += `\n(pods.sh ${args.join(' ')} killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}${err.message}`, ms: now() - t0 });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: stdout.trim(), stderr: stderr.trim(), ms: now() - t0 });
    });
  });
}

/** pods.sh, throwing when it fails. */
export async function podsOk(args, opts) {
  const r = await pods(args, opts);
  if (r.code !== 0) throw new Error(`pods.sh ${args.join(' ')} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r;
}

export const startPod = (i) => podsOk(['start', String(i), ...NODE_FLAGS], { timeoutMs: 30_000 });

const podsState = () => process.env.PODS_STATE || '/tmp/chatpods';

/** Path of pod I's log (kept by pods.sh in $PODS_STATE). */
export function podLog(i) {
  return path.join(podsState(), 'pods', String(i), 'log');
}

/** The data directory pods.sh gave pod I's node at its last start, or null (memory only). */
export function dataDir(i) {
  try {
    return fs.readFileSync(path.join(podsState(), 'pods', String(i), 'data-dir'), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** The last `lines` lines of pod I's log matching `filter` (a RegExp), for failure reports. */
export function logExcerpt(i, { lines = 15, filter } = {}) {
  try {
    let all = fs.readFileSync(podLog(i), 'utf8').split('\n').filter(Boolean);
    if (filter) all = all.filter((l) => filter.test(l));
    return all.slice(-lines);
  } catch (err) {
    return [`(cannot read ${podLog(i)}: ${err.message})`];
  }
}

// ---------------------------------------------------------------- endpoints

/**
 * How the runner reaches one node: direct TCP to 10.77.0.I:8080, or through
 * a Unix socket relayed by a proxy inside the pod (see proxy.mjs).
 */
export class Endpoint {
  constructor(i, { socketPath } = {}) {
    this.i = i;
    this.pod = `pod${i}`;
    this.ip = `10.77.0.${i}`;
    this.socketPath = socketPath;
    this.label = socketPath ? `${this.pod}(in-ns)` : this.pod;
  }

  wsUrl(query) {
    const q = new URLSearchParams(query).toString();
    if (this.socketPath) return `ws+unix://${this.socketPath}:/ws?${q}`;
    return `ws://${this.ip}:${HTTP_PORT}/ws?${q}`;
  }

  httpOptions(pathname, { admin = false } = {}) {
    // The admin port is reached directly, as a monitoring system would,
    // also for a relayed endpoint (not while the pod is cut off).
    if (admin) return { host: this.ip, port: ADMIN_PORT, path: pathname };
    if (this.socketPath) return { socketPath: this.socketPath, path: pathname, headers: { host: `${this.ip}:${HTTP_PORT}` } };
    return { host: this.ip, port: HTTP_PORT, path: pathname };
  }
}

export const direct = (i) => new Endpoint(i);

/**
 * Starts the relay of proxy.mjs inside pod I's namespace and resolves to an
 * Endpoint through it, with a `close()` that stops the relay (by its PID).
 */
export async function startProxy(i, dir) {
  const socketPath = path.join(dir, `pod${i}.sock`);
  const child = spawn('ip', ['netns', 'exec', `chatpod${i}`, process.execPath, PROXY_JS, socketPath, `10.77.0.${i}`, String(HTTP_PORT)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`proxy in chatpod${i} not ready within 10 s: ${err}`)), 10_000);
    child.stdout.on('data', (c) => {
      if (String(c).includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`proxy in chatpod${i} exited (${code}): ${err}`));
    });
  });
  const ep = new Endpoint(i, { socketPath });
  ep.close = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.end();
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
  };
  ep.pid = child.pid;
  return ep;
}

// ---------------------------------------------------------------- HTTP

/** One request on its own connection; resolves to { status, text, json }. */
export function request(ep, pathname, { method = 'GET', timeoutMs = 3000, admin = false } = {}) {
  return httpRequest(ep.httpOptions(pathname, { admin }), { method, timeoutMs, headers: { 'content-length': '0' } });
}

export async function getJson(ep, pathname, opts) {
  const r = await request(ep, pathname, opts);
  if (r.status !== 200 || r.json === undefined) throw new Error(`GET ${ep.label}${pathname}: ${r.status} ${r.text.slice(0, 200)}`);
  return r.json;
}

/** The room's history on that node: array of { id, ts, user, text, room }. */
export const history = (ep, room) => getJson(ep, `/api/rooms/${encodeURIComponent(room)}/history`, { timeoutMs: 5000 });

/** The full /api/cluster (admin port): { node, peers: [{ node, ... }], groups }. */
export const cluster = (ep) => getJson(ep, '/api/cluster', { admin: true });

/** Names of the peers a node sees (sorted), from the public /api/cluster (relays reach it too). */
export async function peerNames(ep) {
  const c = await getJson(ep, '/api/cluster');
  return (c.peers || []).map((p) => p.node).sort();
}

export async function metrics(ep) {
  const r = await request(ep, '/metrics', { admin: true });
  if (r.status !== 200) throw new Error(`GET ${ep.label}/metrics: ${r.status}`);
  const out = new Map();
  for (const line of r.text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

export async function isReady(ep) {
  try {
    return (await request(ep, '/readyz', { timeoutMs: 1000 })).status === 200;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- waiting

/**
 * Polls `fn` (sync or async; a throw counts as "not yet") every `interval` ms
 * until it returns a truthy value or `timeoutMs` passes. Resolves to
 * { ok, ms, value, error } and never throws: the caller turns it into a check.
 * `ms` counts from `since` (a now() value, e.g. the moment of the fault) when given.
 */
export async function until(fn, timeoutMs, { interval = 100, since } = {}) {
  const t0 = now();
  const from = since ?? t0;
  let error;
  for (;;) {
    try {
      const value = await fn();
      if (value) return { ok: true, ms: now() - from, value };
    } catch (err) {
      error = err;
    }
    if (now() - t0 >= timeoutMs) return { ok: false, ms: now() - from, error };
    await sleep(interval);
  }
}

/** History order of the protocol: ts, then id as plain byte strings. */
export function compareHistory(a, b) {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  return Buffer.compare(Buffer.from(a.id, 'utf8'), Buffer.from(b.id, 'utf8'));
}
