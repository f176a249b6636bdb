// Steady chat load with careful clients, and the bookkeeping the checks need.
//
// A LoadClient is one user with at most one WebSocket at a time. It connects
// with `rooms=` (nothing), then sends `subscribe` for its rooms, with `since`
// {room: the last id it has} once it has any. It publishes at a steady rate
// with a fresh `client_id` per message, round robin over its rooms, and keeps
// every message that is not acked yet: on `error` for it (e.g. `internal`
// while the chat server restarts) it sends it again after a short pause, with
// the same client_id; without an answer within ACK_TIMEOUT_MS, again; after a
// reconnect, all of them again. The server dedups those retries.
//
// When its connection drops, it reconnects with backoff to the next node of
// its list (its own node comes last), so clients of a dead node land on
// another one. On `server_notice` `draining` it stops publishing, waits a
// moment for the acks in flight, closes, and reconnects elsewhere.
//
// Bookkeeping, per client and per connection:
//   have      room -> id -> how it first got it (history, live, or its own ack)
//   acked     client_id -> { id, ts, room, ... } (the messages it sent that the cluster accepted)
//   pending   client_id -> message not acked yet
//   per connection: ids received (history + live), live duplicates (a live
//   `message` whose id this connection already had), echoes (its own message
//   delivered back to the connection that sent it), presence view per room.

import WebSocket from 'ws';
import { setTimeout as sleep } from 'node:timers/promises';

import { now } from './pods.mjs';

const ACK_TIMEOUT_MS = 3000;
const ERROR_RETRY_MS = 300;
const MAX_IN_FLIGHT = 40;
const HANDSHAKE_MS = 3000;
const JOIN_MS = 8000;

export class LoadClient {
  /**
   * @param {object} o
   * @param {string} o.user       user name (unique in the run)
   * @param {string[]} o.rooms    rooms it subscribes to and publishes in (round robin)
   * @param {Endpoint[]} o.order  endpoints in the order it tries them; order[0] is its home node
   * @param {number} o.rate       messages per second while sending
   * @param {boolean} o.reconnect false for a sentinel that must stay where it is
   * @param {string} o.group      label for the report (e.g. "pod3")
   */
  constructor({ user, rooms, order, rate = 3, reconnect = true, group = '' }) {
    this.user = user;
    this.rooms = rooms;
    this.order = order;
    this.rate = rate;
    this.reconnectEnabled = reconnect;
    this.group = group;
    this.cursor = 0;
    this.conns = [];
    this.conn = null; // the current connection once it has joined every room
    this.have = new Map(rooms.map((r) => [r, new Map()]));
    this.last = new Map(); // room -> { id, ts }: the newest message it has, in history order
    this.pending = new Map();
    this.acked = new Map();
    this.ackConflicts = []; // one client_id acked with two different ids: a retry taken twice
    this.repeatAcks = 0;
    this.unknownAcks = [];
    this.errors = new Map();
    this.events = [];
    this.seq = 0;
    this.turn = 0;
    this.sending = false;
    this.stopped = false;
    this.nextAt = null;
    this.connectFailures = 0;
    this.done = this._run();
  }

  get ready() {
    return !!(this.conn && !this.conn.closedAt && !this.conn.draining);
  }

  get node() {
    return this.conn ? this.conn.node : null;
  }

  event(kind, extra = {}) {
    this.events.push({ t: now(), kind, ...extra });
  }

  _addHave(room, id, ts, via) {
    const ids = this.have.get(room);
    if (!ids) return false;
    if (ids.has(id)) return false;
    ids.set(id, { via, ts, t: now() });
    const l = this.last.get(room);
    if (!l || ts > l.ts || (ts === l.ts && Buffer.compare(Buffer.from(id), Buffer.from(l.id)) > 0)) this.last.set(room, { id, ts });
    return true;
  }

  hasId(room, id) {
    return this.have.get(room)?.has(id) ?? false;
  }

  // ------------------------------------------------------------ connection

  async _run() {
    let failures = 0;
    while (!this.stopped) {
      const ep = this.order[this.cursor % this.order.length];
      let conn;
      try {
        conn = await this._connect(ep);
        failures = 0;
      } catch (err) {
        this.connectFailures += 1;
        failures += 1;
        this.event('connect_failed', { ep: ep.label, error: err.message });
      }
      if (conn) {
        await conn.closed;
      }
      if (this.stopped || !this.reconnectEnabled) break;
      // Next node of the list: after a drop, never straight back to the same one.
      this.cursor += 1;
      await sleep(Math.min(100 * 2 ** Math.min(failures, 4), 1600) + Math.random() * 100);
    }
  }

  _connect(ep) {
    const conn = {
      n: this.conns.length + 1,
      ep: ep.label,
      node: null,
      session: null,
      startedAt: now(),
      readyAt: null,
      closedAt: null,
      closeInfo: null,
      draining: false,
      received: new Set(),
      live: 0,
      liveKnown: 0, // live messages the client already had from an earlier connection
      dups: [],
      echoes: [],
      ownLive: 0, // its own message delivered live to a later connection (not the sender): allowed
      echoIds: new Set(),
      liveIds: new Set(),
      members: new Map(),
      presence: [],
      histories: [],
      since: null,
      joined: new Set(),
    };
    this.conns.push(conn);
    let ws;
    try {
      ws = new WebSocket(ep.wsUrl({ user: this.user, rooms: '' }), {
        perMessageDeflate: false,
        handshakeTimeout: HANDSHAKE_MS,
        maxPayload: 256 * 1024 * 1024,
      });
    } catch (err) {
      conn.closedAt = now();
      conn.closed = Promise.resolve();
      return Promise.reject(err);
    }
    conn.ws = ws;
    let onJoined;
    const joined = new Promise((resolve) => (onJoined = resolve));
    conn.onJoined = onJoined;
    conn.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        conn.closedAt = now();
        conn.closeInfo = { code, reason: String(reason) };
        if (this.conn === conn) {
          this.conn = null;
          this.event('disconnect', { conn: conn.n, node: conn.node, code });
        }
        resolve();
      });
    });
    ws.on('error', (err) => {
      conn.error = err.message;
    });
    ws.on('message', (data) => {
      let f;
      try {
        f = JSON.parse(String(data));
      } catch {
        return;
      }
      this._frame(conn, f);
    });

    const fail = (msg) => {
      ws.terminate();
      return new Error(msg);
    };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(fail(`${ep.label}: not joined within ${JOIN_MS} ms`)), JOIN_MS);
      ws.once('unexpected-response', (req, res) => {
        clearTimeout(timer);
        res.resume();
        reject(fail(`${ep.label}: upgrade answered HTTP ${res.statusCode}`));
      });
      conn.closed.then(() => {
        clearTimeout(timer);
        reject(new Error(`${ep.label}: closed before joining (${conn.error || JSON.stringify(conn.closeInfo)})`));
      });
      joined.then(() => {
        clearTimeout(timer);
        if (conn.closedAt) return; // closed in between: conn.closed rejected already
        conn.readyAt = now();
        this.conn = conn;
        this.event('ready', { conn: conn.n, node: conn.node, ep: ep.label });
        // Everything not acked yet goes again, with the same client_id.
        for (const p of this.pending.values()) this._send(p);
        resolve(conn);
      });
    });
  }

  _frame(conn, f) {
    switch (f.type) {
      case 'welcome': {
        conn.node = f.node;
        conn.session = f.session;
        const since = {};
        for (const r of this.rooms) if (this.last.has(r)) since[r] = this.last.get(r).id;
        const msg = { type: 'subscribe', rooms: this.rooms };
        if (Object.keys(since).length) msg.since = since;
        conn.since = msg.since ?? null;
        conn.ws.send(JSON.stringify(msg));
        break;
      }
      case 'subscribed':
        conn.members.set(f.room, new Set(f.members));
        break;
      case 'history': {
        let fresh = 0;
        for (const m of f.messages) {
          conn.received.add(m.id);
          if (this._addHave(f.room, m.id, m.ts, 'history')) fresh += 1;
        }
        conn.histories.push({ t: now(), room: f.room, n: f.messages.length, gap: !!f.gap, fresh, since: conn.since?.[f.room] ?? null });
        conn.joined.add(f.room);
        if (this.rooms.every((r) => conn.joined.has(r))) conn.onJoined();
        break;
      }
      case 'message': {
        if (conn.received.has(f.id)) {
          conn.dups.push({ t: now(), id: f.id, room: f.room, user: f.user, wasLive: conn.liveIds.has(f.id) });
          break;
        }
        conn.received.add(f.id);
        conn.liveIds.add(f.id);
        conn.live += 1;
        if (conn.echoIds.has(f.id)) conn.echoes.push(f.id);
        else if (f.user === this.user) conn.ownLive += 1;
        if (!this._addHave(f.room, f.id, f.ts, 'live')) conn.liveKnown += 1;
        break;
      }
      case 'ack': {
        const cid = f.client_id;
        const prev = this.acked.get(cid);
        const p = this.pending.get(cid);
        if (prev) {
          if (prev.id !== f.id) this.ackConflicts.push({ cid, first: prev.id, second: f.id });
          else this.repeatAcks += 1;
        } else if (p) {
          this.pending.delete(cid);
          this.acked.set(cid, { cid, id: f.id, ts: f.ts, room: f.room, text: p.text, firstAt: p.firstAt, ackedAt: now(), attempts: p.attempts, conn: conn.n, node: conn.node });
        } else {
          this.unknownAcks.push(f);
        }
        // Only a message first and only ever sent on this connection can be "echoed" to it.
        if (p && p.conns.size === 1 && p.conns.has(conn.n)) {
          conn.echoIds.add(f.id);
          if (conn.liveIds.has(f.id)) conn.echoes.push(f.id);
        }
        this._addHave(f.room, f.id, f.ts, 'ack');
        break;
      }
      case 'error': {
        this.errors.set(f.code, (this.errors.get(f.code) ?? 0) + 1);
        const p = f.ref != null ? this.pending.get(f.ref) : undefined;
        if (p) p.retryAt = now() + ERROR_RETRY_MS;
        break;
      }
      case 'presence': {
        conn.presence.push({ t: now(), room: f.room, user: f.user, state: f.state });
        const m = conn.members.get(f.room);
        if (m) {
          if (f.state === 'join') m.add(f.user);
          else m.delete(f.user);
        }
        break;
      }
      case 'server_notice':
        if (f.code === 'draining' && !conn.draining) {
          conn.draining = true;
          this.event('draining', { conn: conn.n, node: conn.node });
          this._leaveDraining(conn);
        }
        break;
      default:
        break;
    }
  }

  /** A draining node: let the acks in flight arrive (bounded), then go elsewhere. */
  async _leaveDraining(conn) {
    const t0 = now();
    while (now() - t0 < 1000 && [...this.pending.values()].some((p) => p.lastConn === conn.n)) await sleep(20);
    if (!conn.closedAt) conn.ws.close(1000, 'draining');
  }

  // ------------------------------------------------------------ publishing

  _send(p) {
    const conn = this.conn;
    if (!conn || conn.closedAt || conn.draining) return;
    p.attempts += 1;
    p.lastAt = now();
    p.lastConn = conn.n;
    p.retryAt = null;
    p.conns.add(conn.n);
    conn.ws.send(JSON.stringify({ type: 'message', room: p.room, text: p.text, client_id: p.cid }));
  }

  tick(t) {
    if (!this.ready) {
      this.nextAt = null;
      return;
    }
    for (const p of this.pending.values()) {
      if ((p.retryAt !== null && t >= p.retryAt) || (p.retryAt === null && t - p.lastAt > ACK_TIMEOUT_MS)) this._send(p);
    }
    if (!this.sending || this.rate <= 0) return;
    const period = 1000 / this.rate;
    if (this.nextAt === null) this.nextAt = t + Math.random() * period;
    if (t - this.nextAt > 1000) this.nextAt = t;
    while (t >= this.nextAt && this.pending.size < MAX_IN_FLIGHT) {
      this._publish(t);
      this.nextAt += period * (0.5 + Math.random());
    }
  }

  /** Publishes n messages at once (on top of the steady rate), e.g. to have messages in flight at the moment of a fault. */
  burst(n) {
    if (!this.ready) return 0;
    let k = 0;
    for (; k < n && this.pending.size < MAX_IN_FLIGHT; k++) this._publish(now());
    return k;
  }

  _publish(t) {
    this.seq += 1;
    const room = this.rooms[this.turn++ % this.rooms.length];
    const cid = `${this.user}-${this.seq}`;
    const p = { cid, room, text: `${cid} says hello`, firstAt: t, lastAt: t, attempts: 0, retryAt: null, conns: new Set(), lastConn: null };
    this.pending.set(cid, p);
    this._send(p);
  }

  /** Closes for good (no reconnect). */
  async stop() {
    this.stopped = true;
    this.sending = false;
    for (const c of this.conns) {
      if (c.ws && !c.closedAt) {
        try {
          c.ws.close(1000);
        } catch {
          // not open yet
        }
      }
    }
    const t = setTimeout(() => {
      for (const c of this.conns) if (c.ws && !c.closedAt) c.ws.terminate();
    }, 1500);
    await Promise.race([this.done, sleep(5000)]);
    clearTimeout(t);
  }

  /** Drops the connection like a crashed client would (no close handshake, no reconnect). */
  kill() {
    this.stopped = true;
    for (const c of this.conns) if (c.ws && !c.closedAt) c.ws.terminate();
  }
}

/**
 * The clients of one scenario, ticking together. `rooms` are the scenario's
 * rooms; every client belongs to some of them.
 */
export class Load {
  constructor(name, rooms) {
    this.name = name;
    this.rooms = rooms;
    this.clients = [];
    this.timer = setInterval(() => {
      const t = now();
      for (const c of this.clients) if (!c.stopped) c.tick(t);
    }, 20);
  }

  add(opts) {
    const c = new LoadClient(opts);
    this.clients.push(c);
    return c;
  }

  get senders() {
    return this.clients.filter((c) => c.rate > 0);
  }

  startSending(clients = this.clients) {
    for (const c of clients) c.sending = true;
  }

  stopSending() {
    for (const c of this.clients) c.sending = false;
  }

  pendingCount() {
    return this.clients.filter((c) => !c.stopped).reduce((n, c) => n + c.pending.size, 0);
  }

  /** Every acked message of a room: id -> { cid, user, ts, ackedAt, ... }. */
  acked(room) {
    const out = new Map();
    for (const c of this.clients) for (const a of c.acked.values()) if (a.room === room) out.set(a.id, { ...a, user: c.user });
    return out;
  }

  ackedCount() {
    return this.clients.reduce((n, c) => n + c.acked.size, 0);
  }

  /** Acks received in [t0, t1) by the given clients. */
  ackedBetween(clients, t0, t1) {
    let n = 0;
    for (const c of clients) for (const a of c.acked.values()) if (a.ackedAt >= t0 && a.ackedAt < t1) n += 1;
    return n;
  }

  /** Clients that are connected now and not stopped. */
  connected() {
    return this.clients.filter((c) => !c.stopped && c.ready);
  }

  /** For each live client and each of its rooms: the acked ids of the room it does not have. */
  missing(clients = this.clients.filter((c) => !c.stopped)) {
    const out = [];
    for (const room of this.rooms) {
      const ids = [...this.acked(room).keys()];
      for (const c of clients) {
        if (!c.rooms.includes(room)) continue;
        const miss = ids.filter((id) => !c.hasId(room, id));
        if (miss.length) out.push({ client: c.user, room, missing: miss });
      }
    }
    return out;
  }

  async stop() {
    clearInterval(this.timer);
    await Promise.all(this.clients.map((c) => c.stop()));
  }
}
