// Starting and stopping real chatd processes for the integration tests.
//
// Every process started here is registered; stopAll() (called from each test
// file's `after` hook through cleanup()) and a process 'exit' hook kill the
// ones still running, also when a test failed or timed out. When the
// `setpriv` tool is available the node is started through
// `setpriv --pdeathsig SIGKILL`, so that even a test runner killed with
// SIGKILL leaves no chatd behind.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { getJson } from './http.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../../..');
export const CHATD_BIN = process.env.CHATD_BIN || path.join(REPO, 'build', 'chatd');
/** Where the test tools (rogue_node, rogue_chat) are: beside chatd unless told (chatd may be a sanitizer build). */
export const TOOLS_DIR = process.env.TOOLS_DIR || path.dirname(CHATD_BIN);
export const HOST = '127.0.0.1';

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

/** Flags every test node gets unless the test overrides them. */
export const DEFAULT_FLAGS = {
  'peer-timeout-ms': 3000,
  'discovery-interval-ms': 500,
  // Stopping nodes between tests should be quick; the drain test sets its own.
  'drain-grace-ms': 200,
  'log-level': process.env.CHATD_LOG_LEVEL || 'info',
};

// ---------------------------------------------------------------- logs

export const LOG_DIR = fs.mkdtempSync(path.join(os.tmpdir(), `chatd-it-${process.pid}-`));
let keepLogs = !!process.env.CHATD_KEEP_LOGS;

/** Called by the test wrapper when a test fails: logs are kept for a post-mortem. */
export function markFailure() {
  keepLogs = true;
}

function tail(file, lines = 40) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch (err) {
    return `(cannot read ${file}: ${err.message})`;
  }
}

// ---------------------------------------------------------------- ports

// Ports are taken from a range below Linux's ephemeral range (32768-60999),
// so that no outgoing client socket can take a port between our probe and
// the node's bind. Each test file runs in its own process: the start of the
// range depends on the pid, and every candidate is probed by binding it.
const PORT_LO = 20000;
const PORT_HI = 32000;
let nextPort = PORT_LO + ((process.pid * 7919) % (PORT_HI - PORT_LO));
const handedOut = new Set();

function probe(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: HOST, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A port on 127.0.0.1 that nothing listens on and that this process has not handed out before. */
export async function freePort() {
  for (let tries = 0; tries < PORT_HI - PORT_LO; tries++) {
    const port = nextPort;
    nextPort = nextPort + 1 >= PORT_HI ? PORT_LO : nextPort + 1;
    if (handedOut.has(port)) continue;
    if (await probe(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port found');
}

/** `count` consecutive free ports; resolves to the first. */
export async function freePortRun(count) {
  for (;;) {
    const run = [await freePort()];
    while (run.length < count) {
      const p = await freePort();
      if (p !== run[run.length - 1] + 1) break;
      run.push(p);
    }
    if (run.length === count) return run[0];
  }
}

// ---------------------------------------------------------------- waiting

/**
 * Polls `cond` (sync or async) until it returns a truthy value, which is
 * returned. A `cond` that throws counts as "not yet"; the last error or
 * value is reported when the deadline passes, with `what` (a string, or a
 * function called then, to describe the state at the deadline).
 */
export async function waitFor(cond, timeoutMs = 5000, { interval = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      const label = typeof what === 'function' ? what() : what;
      const err = new Error(`timed out after ${timeoutMs} ms waiting for ${label}; last: ${detail}`);
      if (last instanceof Error) err.cause = last;
      throw err;
    }
    await sleep(interval);
  }
}

// ---------------------------------------------------------------- nodes

const live = new Set(); // ChatNode instances with a running process
let usePdeathsig;

function childEnv() {
  // A developer's CHAT_* variables must not change what the tests start.
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CHAT_')) env[k] = v;
  return env;
}

function flagArgs(flags) {
  const args = [];
  for (const [name, value] of Object.entries(flags)) {
    if (value === undefined || value === null || value === false) continue;
    if (value === true) args.push(`--${name}`);
    else args.push(`--${name}`, String(value));
  }
  return args;
}

export class ChatNode {
  /**
   * @param {object} o
   * @param {string} o.name node name
   * @param {number} o.httpPort
   * @param {number} o.clusterPort
   * @param {string[]} [o.peers] "host:port" of every cluster member (own entry included is fine)
   * @param {object} [o.flags] extra flags: { 'history': 5, 'debug-endpoints': true }
   * @param {string[]} [o.wrap] a command that runs chatd, e.g. ['prlimit', '--nofile=64', '--']
   * @param {string} [o.host] loopback address the node binds and advertises (127.0.0.0/8)
   * @param {object} [o.tls] { cert, key, ca } file paths: mutual TLS on the cluster port
   */
  constructor({ name, httpPort, clusterPort, adminPort = 0, peers = [], flags = {}, wrap = [], host = HOST, tls = null }) {
    if (!host.startsWith('127.')) throw new Error(`test nodes bind loopback only, not ${host}`);
    this.wrap = wrap;
    this.name = name;
    this.host = host;
    this.tls = tls;
    this.httpPort = httpPort;
    this.clusterPort = clusterPort;
    // /metrics, the full /api/cluster and /debug; a free port is taken at the first start.
    this.adminPort = adminPort;
    this.peers = peers;
    this.flags = { ...DEFAULT_FLAGS, ...flags };
    this.proc = null;
    this.starts = 0;
    this.logFile = null;
    this.exitInfo = null;
  }

  get pid() {
    return this.proc?.pid;
  }

  get running() {
    return !!this.proc && !this.exitInfo;
  }

  get clusterAddr() {
    return `${this.host}:${this.clusterPort}`;
  }

  get baseUrl() {
    return `http://${this.host}:${this.httpPort}`;
  }

  url(p = '/') {
    return this.baseUrl + p;
  }

  /** A URL on the admin port (/metrics, /api/cluster with everything, /debug/...). */
  adminUrl(p = '/') {
    return `http://${this.host}:${this.adminPort}${p}`;
  }

  /** ws://…/ws with the given query parameters (values are URL-encoded; null/undefined are left out). */
  wsUrl(query = {}) {
    const parts = [];
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null) continue;
      parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v)).replace(/%2C/g, ',')}`);
    }
    return `ws://${this.host}:${this.httpPort}/ws${parts.length ? '?' + parts.join('&') : ''}`;
  }

  args() {
    const base = {
      'node-name': this.name,
      'http-addr': this.host,
      'http-port': this.httpPort,
      'cluster-addr': this.host,
      'cluster-port': this.clusterPort,
      'advertise-addr': this.host,
      'admin-addr': this.host,
      'admin-port': this.adminPort,
    };
    if (this.peers.length) base.peers = this.peers.join(',');
    if (this.tls) {
      base['cluster-tls-cert'] = this.tls.cert;
      base['cluster-tls-key'] = this.tls.key;
      base['cluster-tls-ca'] = this.tls.ca;
    }
    return flagArgs({ ...base, ...this.flags });
  }

  /** Starts the process (again, after stop/crash: same name and ports) and waits for /readyz 200. */
  async start({ readyTimeoutMs = READY_TIMEOUT_MS } = {}) {
    if (this.running) throw new Error(`${this.name} is already running`);
    if (!fs.existsSync(CHATD_BIN)) {
      throw new Error(`chatd binary not found at ${CHATD_BIN} (build it, or set CHATD_BIN)`);
    }
    if (!this.adminPort) this.adminPort = await freePort();
    this.starts += 1;
    this.logFile = path.join(LOG_DIR, `${this.name}.${this.starts}.log`);
    const fd = fs.openSync(this.logFile, 'w');
    const args = this.args();
    fs.writeSync(fd, `# ${CHATD_BIN} ${args.join(' ')}\n`);
    if (usePdeathsig === undefined) {
      usePdeathsig = spawnSync('setpriv', ['--pdeathsig', 'SIGKILL', '--', 'true']).status === 0;
    }
    const command = [...this.wrap, CHATD_BIN, ...args];
    const [cmd, argv] = usePdeathsig
      ? ['setpriv', ['--pdeathsig', 'SIGKILL', '--', ...command]]
      : [command[0], command.slice(1)];
    this.exitInfo = null;
    const proc = spawn(cmd, argv, { stdio: ['ignore', fd, fd], env: childEnv() });
    fs.closeSync(fd);
    this.proc = proc;
    live.add(this);
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        resolve(this.exitInfo);
      });
      proc.once('error', (err) => {
        this.exitInfo = { code: null, signal: null, error: err };
        live.delete(this);
        resolve(this.exitInfo);
      });
    });
    try {
      await this.waitReady(readyTimeoutMs);
    } catch (err) {
      this.kill('SIGKILL');
      await this.exited;
      throw new Error(`${err.message}\n--- ${this.logFile} (tail) ---\n${tail(this.logFile)}`);
    }
    return this;
  }

  async waitReady(timeoutMs = READY_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (this.exitInfo) {
        throw new Error(`${this.name} exited before it was ready: ${JSON.stringify(this.exitInfo)}`);
      }
      try {
        const res = await getJson(this.url('/readyz'), { timeoutMs: 1000 });
        if (res.status === 200) return;
        last = `status ${res.status}`;
      } catch (err) {
        last = err.message;
      }
      await sleep(100);
    }
    throw new Error(`${this.name} not ready within ${timeoutMs} ms (last: ${last})`);
  }

  kill(signal) {
    if (!this.running) return false;
    try {
      process.kill(this.proc.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM, then SIGKILL when the process has not exited within timeoutMs. Resolves to the exit info. */
  async stop(timeoutMs = STOP_TIMEOUT_MS) {
    if (!this.running) return this.exitInfo;
    this.kill('SIGCONT'); // a frozen node could not act on SIGTERM
    this.kill('SIGTERM');
    const t = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    const info = await this.exited;
    clearTimeout(t);
    return info;
  }

  /** Resolves to the exit info once the process has exited, or to null if it still runs after timeoutMs. */
  async waitExit(timeoutMs) {
    if (!this.proc) return null;
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL: the node dies without a word to its peers or clients. */
  async crash() {
    if (!this.running) return this.exitInfo;
    this.kill('SIGKILL');
    return this.exited;
  }

  /** SIGSTOP: the node falls silent with its sockets open; only heartbeats can tell. */
  freeze() {
    this.kill('SIGSTOP');
  }

  /** SIGCONT after freeze(). */
  thaw() {
    this.kill('SIGCONT');
  }

  async restart(opts) {
    await this.stop();
    return this.start(opts);
  }

  logTail(lines = 40) {
    return this.logFile ? tail(this.logFile, lines) : '(never started)';
  }
}

/** A node that is not started yet, on fresh ports. */
export async function makeNode({ name = 'solo', flags = {}, peers = [], wrap = [], host = HOST, tls = null } = {}) {
  return new ChatNode({ name, httpPort: await freePort(), clusterPort: await freePort(), peers, flags, wrap, host, tls });
}

/** Starts one node (no peers) and waits until it is ready. */
export async function startNode(opts = {}) {
  const node = await makeNode(opts);
  return node.start();
}

/**
 * Starts n nodes named `${prefix}1`…`${prefix}n` that list each other in
 * --peers, and waits until every one answers /readyz 200. With
 * `waitPeers` (default true) it also waits until each node's /api/cluster
 * lists the n-1 others. With `origins` (an array), every node gets
 * --allowed-origins listing every node's URL plus those origins, as
 * scripts/cluster.sh does: pages of one node may then fail over to the others.
 */
export async function cluster(n, { flags = {}, prefix = 'n', waitPeers = true, timeoutMs = 20_000, origins, tls = null, dataDirs } = {}) {
  const ports = [];
  for (let i = 0; i < n; i++) ports.push({ http: await freePort(), cluster: await freePort() });
  const peers = ports.map((p) => `${HOST}:${p.cluster}`);
  if (origins) {
    const all = [...ports.map((p) => `http://${HOST}:${p.http}`), ...origins];
    flags = { 'allowed-origins': all.join(','), ...flags };
  }
  const nodes = ports.map(
    (p, i) => {
      const name = `${prefix}${i + 1}`;
      // tls: a function from node name to { cert, key, ca }, e.g. certs.forNode
      // dataDirs: node i's --data-dir
      const own = dataDirs ? { ...flags, 'data-dir': dataDirs[i] } : flags;
      return new ChatNode({ name, httpPort: p.http, clusterPort: p.cluster, peers, flags: own, tls: tls ? tls(name) : null });
    },
  );
  const started = Date.now();
  try {
    await Promise.all(nodes.map((nd) => nd.start()));
    if (waitPeers) await Promise.all(nodes.map((nd) => waitPeerCount(nd, n - 1, timeoutMs)));
  } catch (err) {
    markFailure();
    err.message += `\n${dumpLogs(started)}`;
    throw err;
  }
  return nodes;
}

/** GET /api/cluster. */
export async function clusterInfo(node) {
  const res = await getJson(node.adminUrl('/api/cluster'));
  if (res.status !== 200) throw new Error(`/api/cluster on ${node.name}: status ${res.status}`);
  return res.json;
}

/** Waits until /api/cluster on `node` lists exactly `count` peers; returns the peer names. */
export async function waitPeerCount(node, count, timeoutMs = 15_000) {
  let names = [];
  await waitFor(
    async () => {
      const info = await clusterInfo(node);
      names = (info.peers || []).map((p) => p.node);
      return names.length === count;
    },
    timeoutMs,
    { interval: 100, what: () => `${node.name} to see ${count} peers (sees ${JSON.stringify(names)})` },
  );
  return names;
}

/**
 * Log tails of the nodes that ran at or after `sinceMs` (a Date.now() value):
 * those still running and those whose log was written since then.
 */
export function dumpLogs(sinceMs = 0, lines = 40) {
  let out = '';
  for (const file of fs.readdirSync(LOG_DIR).sort()) {
    const full = path.join(LOG_DIR, file);
    const runningNow = [...live].some((n) => n.logFile === full);
    if (!runningNow && fs.statSync(full).mtimeMs < sinceMs) continue;
    out += `\n--- ${full} (last ${lines} lines) ---\n${tail(full, lines)}\n`;
  }
  return out;
}

/** Stops every node still running (SIGTERM, then SIGKILL). */
export async function stopAll() {
  await Promise.all([...live].map((n) => n.stop()));
}

process.on('exit', () => {
  for (const n of live) {
    try {
      process.kill(n.proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (!keepLogs) fs.rmSync(LOG_DIR, { recursive: true, force: true });
});

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    process.exit(130); // runs the 'exit' hook above
  });
}
