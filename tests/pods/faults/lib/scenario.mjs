// A scenario's record (checks, recovery times, timeline, numbers) and the
// checks every scenario ends with: what each client has, what each node's
// history holds, what each client believes about presence.

import { compareHistory, history, logExcerpt, now, until, HISTORY_WINDOW } from './pods.mjs';

const fmtMs = (ms) => (ms == null ? '—' : `${(ms / 1000).toFixed(2)} s`);
export { fmtMs };

export class Scenario {
  constructor(key, title, story) {
    this.key = key;
    this.title = title;
    this.story = story;
    this.t0 = now();
    this.checks = [];
    this.recovery = [];
    this.timeline = [];
    this.notes = [];
    this.stats = null;
    this.logs = {};
    this.durationMs = null;
  }

  mark(what) {
    const t = now() - this.t0;
    this.timeline.push({ t, what });
    log(`  [${this.key} +${(t / 1000).toFixed(2)}s] ${what}`);
  }

  check(name, ok, detail = '') {
    this.checks.push({ name, ok: !!ok, detail: ok ? '' : String(detail) });
    if (!this.quiet) log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${ok || !detail ? '' : `: ${String(detail).slice(0, 600)}`}`);
    return !!ok;
  }

  /** Records a measured recovery time (an `until` result) and checks it happened within `bound` ms. */
  recover(what, res, bound, { check = true } = {}) {
    const ms = res.ok ? res.ms : null;
    this.recovery.push({ what, ms, bound: bound ?? null });
    if (check) {
      const detail = res.ok ? `took ${fmtMs(res.ms)}` : `not within ${fmtMs(res.ms)}${res.error ? ` (${res.error.message})` : ''}${res.detail ? `: ${res.detail}` : ''}`;
      this.check(`${what}${bound ? ` (within ${fmtMs(bound)})` : ''}`, res.ok && (bound == null || res.ms <= bound), detail);
    }
    return res.ok;
  }

  note(text) {
    this.notes.push(text);
    log(`  note: ${text}`);
  }

  get passed() {
    return this.checks.length > 0 && this.checks.every((c) => c.ok);
  }

  attachLogs(pods) {
    for (const i of pods) this.logs[`pod${i}`] = logExcerpt(i, { lines: 25 });
  }
}

export function log(line) {
  process.stdout.write(`${line}\n`);
}

// ---------------------------------------------------------------- helpers on a Load

/** Clients whose view must be complete at the end: all but the sentinels that lost their node. */
export function accountable(load) {
  return load.clients.filter((c) => c.reconnectEnabled || c.ready);
}

/** For each connected client and room: the users it believes present vs the users connected there. */
export function presenceDiffs(load) {
  const connected = load.connected();
  const out = [];
  for (const c of connected) {
    for (const room of c.rooms) {
      const want = new Set(connected.filter((o) => o.rooms.includes(room)).map((o) => o.user));
      const got = c.conn.members.get(room) ?? new Set();
      const extra = [...got].filter((u) => !want.has(u));
      const absent = [...want].filter((u) => !got.has(u));
      if (extra.length || absent.length) out.push({ client: c.user, room, extra, absent });
    }
  }
  return out;
}

/** Histories of `rooms` on every endpoint: Map pod -> Map room -> array. */
export async function fetchHistories(eps, rooms) {
  const out = new Map();
  for (const ep of eps) {
    const m = new Map();
    for (const r of rooms) m.set(r, await history(ep, r));
    out.set(ep.pod, m);
  }
  return out;
}

/** Problems with the histories: missing acked ids, unequal lists, order, duplicates. Empty when fine. */
export function historyProblems(load, hs) {
  const problems = [];
  const ourUsers = new Set(load.clients.map((c) => c.user));
  for (const room of load.rooms) {
    const acked = load.acked(room);
    let ref = null;
    let refPod = null;
    for (const [pod, byRoom] of hs) {
      const h = byRoom.get(room);
      const ids = h.map((m) => m.id);
      const idSet = new Set(ids);
      const missing = [...acked.keys()].filter((id) => !idSet.has(id));
      if (missing.length) problems.push({ kind: 'missing', pod, room, n: missing.length, sample: missing.slice(0, 5), ids: missing });
      const byText = new Map();
      for (const m of h) byText.set(m.text, (byText.get(m.text) ?? 0) + 1);
      const twice = [...byText].filter(([, n]) => n > 1).map(([t]) => t);
      if (twice.length) problems.push({ kind: 'duplicate', pod, room, n: twice.length, sample: twice.slice(0, 5) });
      if (idSet.size !== ids.length) problems.push({ kind: 'duplicate-id', pod, room, n: ids.length - idSet.size });
      const ghosts = h.filter((m) => ourUsers.has(m.user) && !acked.has(m.id));
      if (ghosts.length) problems.push({ kind: 'unacked-in-history', pod, room, n: ghosts.length, sample: ghosts.slice(0, 3).map((m) => `${m.id} ${m.text}`) });
      for (let k = 1; k < h.length; k++) {
        if (compareHistory(h[k - 1], h[k]) >= 0) {
          problems.push({ kind: 'order', pod, room, at: k, pair: [h[k - 1].id, h[k].id] });
          break;
        }
      }
      if (h.length >= HISTORY_WINDOW) problems.push({ kind: 'window-full', pod, room, n: h.length });
      if (ref === null) {
        ref = ids;
        refPod = pod;
      } else if (ids.length !== ref.length || ids.some((id, k) => id !== ref[k])) {
        const k = ids.findIndex((id, j) => id !== ref[j]);
        problems.push({ kind: 'differs', pod, room, from: refPod, lengths: [ref.length, ids.length], firstDiff: k });
      }
    }
  }
  return problems;
}

export const describeProblems = (ps) => ps.map(({ ids, ...p }) => JSON.stringify(p)).join('; ');

/**
 * After the load stopped: waits (bounded) until nothing is pending, every
 * client has every acked message of its rooms, presence views agree and the
 * histories on `eps` are equal and complete. Resolves to an `until` result
 * with `detail` saying what was still wrong.
 */
export async function settle(load, eps, timeoutMs = 25_000) {
  let detail = '';
  const drained = await until(() => load.pendingCount() === 0, 15_000);
  if (!drained.ok) detail = `${load.pendingCount()} messages never acked; `;
  const res = await until(
    async () => {
      const miss = load.missing(accountable(load));
      if (miss.length) {
        detail = `missing at clients: ${miss.map((m) => `${m.client}/${m.room}: ${m.missing.length}`).join(', ')}`;
        return false;
      }
      const pd = presenceDiffs(load);
      if (pd.length) {
        detail = `presence views differ: ${JSON.stringify(pd.slice(0, 4))}`;
        return false;
      }
      const ps = historyProblems(load, await fetchHistories(eps, load.rooms));
      if (ps.length) {
        detail = `histories: ${describeProblems(ps).slice(0, 800)}`;
        return false;
      }
      return true;
    },
    timeoutMs,
    { interval: 300 },
  );
  res.detail = detail;
  return res;
}

/**
 * The checks every scenario ends with, and its numbers. `eps` are the nodes
 * whose histories must all be equal and complete.
 */
export async function finalChecks(sc, load, eps, { quiet = false } = {}) {
  sc.quiet = quiet;
  const clients = accountable(load);
  const all = load.clients;
  const sent = all.reduce((n, c) => n + c.seq, 0);
  const acked = all.reduce((n, c) => n + c.acked.size, 0);
  const unacked = all.reduce((n, c) => n + c.pending.size, 0);
  let attempts = 0;
  for (const c of all) {
    for (const a of c.acked.values()) attempts += a.attempts;
    for (const p of c.pending.values()) attempts += p.attempts;
  }
  let expected = 0;
  let delivered = 0;
  let live = 0;
  let viaHistory = 0;
  const lostIds = new Set();
  const missingDetail = [];
  for (const room of load.rooms) {
    const ackedRoom = load.acked(room);
    for (const c of clients) {
      if (!c.rooms.includes(room)) continue;
      const have = c.have.get(room);
      let miss = 0;
      for (const [id, a] of ackedRoom) {
        if (a.user === c.user) continue;
        expected += 1;
        const h = have.get(id);
        if (h) {
          delivered += 1;
          if (h.via === 'live') live += 1;
          else viaHistory += 1;
        } else {
          miss += 1;
          lostIds.add(id);
        }
      }
      if (miss) missingDetail.push(`${c.user}/${room}: ${miss}`);
    }
  }
  const dups = [];
  const echoes = [];
  let reconnects = 0;
  let liveKnown = 0;
  let gaps = 0;
  for (const c of all) {
    reconnects += Math.max(0, c.conns.filter((k) => k.readyAt).length - 1);
    for (const k of c.conns) {
      for (const d of k.dups) dups.push(`${c.user} conn ${k.n} (${k.node}): ${d.id} again (${d.wasLive ? 'live' : 'after history'})`);
      for (const e of k.echoes) echoes.push(`${c.user} conn ${k.n}: ${e}`);
      liveKnown += k.liveKnown;
      gaps += k.histories.filter((h) => h.gap).length;
    }
  }
  const conflicts = all.flatMap((c) => c.ackConflicts.map((x) => `${c.user}: ${x.cid} acked as ${x.first} and ${x.second}`));
  const errors = {};
  for (const c of all) for (const [code, n] of c.errors) errors[code] = (errors[code] ?? 0) + n;

  let hs;
  let hsError = null;
  try {
    hs = await fetchHistories(eps, load.rooms);
  } catch (err) {
    hsError = err;
  }
  const hp = hs ? historyProblems(load, hs) : [];
  for (const p of hp) if (p.kind === 'missing') for (const id of p.ids) lostIds.add(id);
  const histDups = hp.filter((p) => p.kind === 'duplicate' || p.kind === 'duplicate-id').reduce((n, p) => n + p.n, 0);

  sc.stats = {
    rooms: load.rooms.length,
    clients: all.length,
    sent,
    acked,
    unacked,
    retries: attempts - sent,
    expectedDeliveries: expected,
    delivered,
    deliveredLive: live,
    deliveredByHistory: viaHistory,
    lostDeliveries: expected - delivered,
    lostMessages: lostIds.size,
    duplicated: dups.length + conflicts.length + histDups,
    echoes: echoes.length,
    reconnects,
    resumedLiveKnown: liveKnown,
    historyGaps: gaps,
    errors,
    historyLength: hs ? Object.fromEntries(load.rooms.map((r) => [r, hs.values().next().value.get(r).length])) : null,
  };

  sc.check('the load ran (messages were acked)', acked > 0, `sent ${sent}, acked ${acked}`);
  sc.check('every message sent was acked in the end (retries keep their client_id)', unacked === 0, `${unacked} never acked`);
  sc.check('no retry was taken as a second message (one id per client_id)', conflicts.length === 0, conflicts.slice(0, 5).join('; '));
  sc.check(
    `every client has every acked message of its rooms, live or by history (lost = 0)`,
    missingDetail.length === 0,
    `lost deliveries: ${missingDetail.join(', ')}; sample ids ${[...lostIds].slice(0, 5).join(' ')}`,
  );
  sc.check('no connection got a live message twice (duplicates = 0)', dups.length === 0, `${dups.length}: ${dups.slice(0, 5).join('; ')}`);
  sc.check('no sender got its own message back live', echoes.length === 0, echoes.slice(0, 5).join('; '));
  if (hsError) {
    sc.check(`histories readable on ${eps.map((e) => e.pod).join(', ')}`, false, hsError.message);
  } else {
    const by = (kinds) => hp.filter((p) => kinds.includes(p.kind));
    sc.check(
      `history window not reached (${HISTORY_WINDOW}; otherwise this test proves nothing)`,
      by(['window-full']).length === 0,
      describeProblems(by(['window-full'])),
    );
    sc.check(`every acked message is in the history of ${eps.map((e) => e.pod).join(', ')}`, by(['missing']).length === 0, describeProblems(by(['missing'])));
    sc.check(
      `histories of ${eps.map((e) => e.pod).join(', ')} are equal, in (ts, id) order, no message twice, nothing that was not acked`,
      by(['differs', 'order', 'duplicate', 'duplicate-id', 'unacked-in-history']).length === 0,
      describeProblems(by(['differs', 'order', 'duplicate', 'duplicate-id', 'unacked-in-history'])),
    );
  }
  const pd = presenceDiffs(load);
  sc.check('presence views converged: every client sees exactly the users connected to its rooms', pd.length === 0, JSON.stringify(pd.slice(0, 5)));
}
