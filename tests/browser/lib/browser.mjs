// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core.
//
// One user = one persistent context = one Chromium process on its own fresh
// temporary profile (cookies and localStorage of two users must not mix).
// Every Chromium started here is remembered by PID when it starts; closeAll()
// closes the contexts, then SIGKILLs what is left of each Chromium (its
// process group and every descendant), and deletes the profiles. A process
// 'exit' hook does the killing too, for a run that ends early.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

// Chromium must never leave loopback: no Google lookups at start, no QUIC.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE 127.*',
];

const users = new Set(); // { context, pid, profile }

// Temporary directories are named chat-browser-PID-…: those of a test
// process that no longer exists (killed before its cleanup) are removed.
const TMP_PREFIX = 'chat-browser-';
for (const name of fs.readdirSync(os.tmpdir())) {
  const m = name.startsWith(TMP_PREFIX) && /^(\d+)-/.exec(name.slice(TMP_PREFIX.length));
  if (!m || Number(m[1]) === process.pid) continue;
  try {
    process.kill(Number(m[1]), 0);
  } catch {
    fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
}

// When `setpriv` is there, Chromium is started through it with
// --pdeathsig SIGKILL (a wrapper script that execs, so the PID stays the
// browser's): even a test process killed with SIGKILL leaves no browser.
let launcher = null;
function executable() {
  if (launcher !== null) return launcher || CHROMIUM;
  launcher = '';
  if (spawnSync('setpriv', ['--pdeathsig', 'SIGKILL', '--', 'true']).status === 0) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${TMP_PREFIX}${process.pid}-bin-`));
    launcher = path.join(dir, 'chromium');
    fs.writeFileSync(launcher, `#!/bin/sh\nexec setpriv --pdeathsig SIGKILL -- '${CHROMIUM}' "$@"\n`, { mode: 0o755 });
  }
  return launcher || CHROMIUM;
}

// ---------------------------------------------------------------- processes

function procTable() {
  const table = new Map(); // pid -> ppid
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), Number(rest[1]));
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

function childrenOf(pid, table = procTable()) {
  return [...table].filter(([, ppid]) => ppid === pid).map(([p]) => p);
}

function descendants(pid, table = procTable()) {
  const out = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop();
    for (const c of childrenOf(p, table)) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** SIGKILL a Chromium: its process group (Playwright starts it detached), every descendant, itself. */
function killTree(pid) {
  if (!pid) return;
  const table = procTable();
  const all = [...descendants(pid, table), pid];
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // no such group
  }
  for (const p of all) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

process.on('exit', () => {
  for (const u of users) killTree(u.pid);
  if (launcher) fs.rmSync(path.dirname(launcher), { recursive: true, force: true });
});

// ---------------------------------------------------------------- users

/**
 * Starts one Chromium on a fresh temporary profile and returns
 * { context, page, pid, profile, errors } (errors: uncaught page exceptions).
 * args: further Chromium flags.
 */
export async function launchUser(label, { viewport = { width: 960, height: 620 }, args = [] } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), `${TMP_PREFIX}${process.pid}-${label}-`));
  const before = new Set(childrenOf(process.pid));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: executable(),
      headless: true,
      args: [...ARGS, ...args],
      viewport,
      deviceScaleFactor: 1,
      locale: 'en-US',
      timezoneId: 'UTC',
      timeout: 60_000,
    });
  } catch (err) {
    // A half-started Chromium must not outlive us.
    for (const pid of childrenOf(process.pid)) if (!before.has(pid)) killTree(pid);
    fs.rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const started = childrenOf(process.pid).filter((pid) => !before.has(pid));
  const pid = started.find((p) => {
    try {
      return fs.readlinkSync(`/proc/${p}/exe`).includes('chromium');
    } catch {
      return false;
    }
  }) ?? started[0];
  const user = { label, context, pid, profile, errors: [], console: [] };
  users.add(user);
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => user.errors.push(String(err?.stack || err)));
  page.on('console', (msg) => {
    user.console.push(`[${msg.type()}] ${msg.text()}`);
    if (user.console.length > 200) user.console.shift();
  });
  user.page = page;
  return user;
}

async function withTimeout(promise, ms) {
  let timer;
  try {
    return await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes every context, kills every Chromium left by PID, deletes the profiles. */
export async function closeAll() {
  for (const u of [...users]) {
    await withTimeout(u.context.close().catch(() => {}), 5000);
    killTree(u.pid);
    const deadline = Date.now() + 3000;
    while (u.pid && isAlive(u.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    fs.rmSync(u.profile, { recursive: true, force: true });
    users.delete(u);
  }
}

/** PIDs of the Chromiums started here and still alive (for the test that checks cleanup). */
export function livePids() {
  return [...users].map((u) => u.pid).filter((p) => p && isAlive(p));
}
