// A WebSocket chat client for the tests, on the npm package `ws`.
//
// Every frame the server sends is parsed and kept twice: in `frames` (all of
// them, in arrival order, never consumed) and in `inbox` (not yet consumed).
// `next(pred)` takes the first inbox frame matching `pred`, waiting for it
// with a deadline. A predicate is a type name ('ack'), an object whose
// fields must all be equal ({ type: 'ack', client_id: 'c1' }), or a function.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

import WebSocket from 'ws';

export const DEFAULT_TIMEOUT_MS = 5000;
/** How long "receives nothing" assertions listen. */
export const QUIET_MS = 500;

const open = new Set();
let uniq = 0;

/** A name no other test in this run uses: `${prefix}-<pid36>-<n>` (valid as user and as room name). */
export function unique(prefix = 'x') {
  uniq += 1;
  return `${prefix}-${process.pid.toString(36)}-${uniq}`;
}

function matcher(pred) {
  if (typeof pred === 'function') return pred;
  if (typeof pred === 'string') return (f) => f.type === pred;
  if (pred && typeof pred === 'object') {
    return (f) => Object.entries(pred).every(([k, v]) => isDeepStrictEqual(f[k], v));
  }
  if (pred === undefined) return () => true;
  throw new TypeError(`bad predicate ${pred}`);
}

function describe(pred) {
  if (typeof pred === 'function') return pred.name || 'predicate';
  return JSON.stringify(pred);
}

function brief(frame) {
  const s = JSON.stringify(frame);
  return s.length > 200 ? s.slice(0, 200) + '…' : s;
}

export class ChatClient {
  constructor(ws, label) {
    this.ws = ws;
    this.label = label;
    this.frames = [];
    this.inbox = [];
    this.waiters = [];
    this.closeInfo = null;
    this.welcome = null;
    this._closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        open.delete(this);
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(new Error(`${this.label}: connection closed (${JSON.stringify(this.closeInfo)}) while waiting for ${w.desc}; inbox: ${this.summary()}`));
        }
        resolve(this.closeInfo);
      });
    });
    ws.on('error', (err) => {
      this.error = err;
    });
    ws.on('message', (data, isBinary) => this._receive(data, isBinary));
    open.add(this);
  }

  _receive(data, isBinary) {
    let frame;
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
    try {
      frame = JSON.parse(text);
    } catch {
      frame = { type: '__unparsed', raw: text };
    }
    if (isBinary) frame = { type: '__binary', frame };
    this.frames.push(frame);
    const i = this.waiters.findIndex((w) => w.match(frame));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve(frame);
    } else {
      this.inbox.push(frame);
    }
  }

  summary() {
    return `[${this.inbox.map(brief).join(', ')}]`;
  }

  /** Sends one JSON frame. Resolves once ws has handed it to the socket. */
  send(obj) {
    return this.sendRaw(JSON.stringify(obj));
  }

  /** Sends a text frame (a string, or a Buffer sent as-is, valid UTF-8 or not) or, with binary, a binary frame. */
  sendRaw(data, { binary = false } = {}) {
    return new Promise((resolve, reject) => {
      this.ws.send(data, { binary, compress: false }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Takes the first inbox frame matching `pred`, waiting up to timeoutMs for it. */
  next(pred, timeoutMs = DEFAULT_TIMEOUT_MS) {
    const match = matcher(pred);
    const i = this.inbox.findIndex(match);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    const desc = describe(pred);
    if (this.closeInfo) {
      return Promise.reject(new Error(`${this.label}: closed (${JSON.stringify(this.closeInfo)}), no frame ${desc}; inbox: ${this.summary()}`));
    }
    return new Promise((resolve, reject) => {
      const w = { match, resolve, reject, desc };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.label}: no frame matching ${desc} within ${timeoutMs} ms; inbox: ${this.summary()}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Removes and returns every inbox frame. */
  drain() {
    return this.inbox.splice(0);
  }

  /** Removes and returns the inbox frames matching pred (a type name, fields, or function). */
  collect(pred) {
    const match = matcher(pred);
    const out = [];
    this.inbox = this.inbox.filter((f) => (match(f) ? (out.push(f), false) : true));
    return out;
  }

  /** Every frame received so far (consumed or not) matching pred. */
  seen(pred) {
    return this.frames.filter(matcher(pred));
  }

  /**
   * Asserts that no frame matching pred (default: any frame) arrives within
   * ms, counting frames already in the inbox. Used only to assert absence.
   */
  async expectNothing(pred, ms = QUIET_MS) {
    await sleep(ms);
    const bad = this.inbox.filter(matcher(pred));
    assert.equal(bad.length, 0, `${this.label} should not have received ${describe(pred ?? 'any frame')}, got ${bad.map(brief).join(', ')}`);
  }

  /** JSON ping with a fresh `t`; resolves to the pong. Everything the server sent before it is in the inbox then. */
  async ping(t = `sync-${++uniq}`, timeoutMs = DEFAULT_TIMEOUT_MS) {
    await this.send({ type: 'ping', t });
    return this.next((f) => f.type === 'pong' && isDeepStrictEqual(f.t, t), timeoutMs);
  }

  /** Publishes and resolves to the ack (matched by client_id, which is generated unless given). */
  async say(room, text, { clientId = unique('cid'), timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    await this.send({ type: 'message', room, text, client_id: clientId });
    const frame = await this.next(
      (f) => (f.type === 'ack' && f.client_id === clientId) || (f.type === 'error' && f.ref === clientId),
      timeoutMs,
    );
    if (frame.type === 'error') throw new Error(`${this.label}: message ${clientId} refused: ${brief(frame)}`);
    return frame;
  }

  /**
   * Subscribes and resolves to { [room]: { subscribed, history } }, waiting
   * for each room's `subscribed` and then its `history`.
   */
  async subscribe(rooms, { since, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    const msg = { type: 'subscribe', rooms };
    if (since !== undefined) msg.since = since;
    await this.send(msg);
    return this.awaitJoined(rooms, timeoutMs);
  }

  /** Waits for `subscribed` then `history` of each room; resolves to { [room]: { subscribed, history } }. */
  async awaitJoined(rooms, timeoutMs = DEFAULT_TIMEOUT_MS) {
    const out = {};
    for (const room of rooms) {
      const subscribed = await this.next({ type: 'subscribed', room }, timeoutMs);
      const history = await this.next({ type: 'history', room }, timeoutMs);
      const si = this.frames.indexOf(subscribed);
      const hi = this.frames.indexOf(history);
      assert.ok(si < hi, `${this.label}: subscribed(${room}) must come before history(${room})`);
      out[room] = { subscribed, history };
    }
    return out;
  }

  /**
   * The users this connection believes present in `room`: the members of the
   * last `subscribed` for it, updated by the `presence` frames received after
   * it. Reads `frames`, consumes nothing.
   */
  presentUsers(room) {
    let users = null;
    for (const f of this.frames) {
      if (f.room !== room) continue;
      if (f.type === 'subscribed') users = new Set(f.members);
      else if (f.type === 'presence' && users) {
        if (f.state === 'join') users.add(f.user);
        else if (f.state === 'leave') users.delete(f.user);
      }
    }
    return users ?? new Set();
  }

  /** Stops reading from the socket (the server's writes pile up in the kernel, then in its queue). */
  pause() {
    this.ws._socket.pause();
  }

  resume() {
    this.ws._socket.resume();
  }

  /** Resolves to { code, reason } once the connection is closed. */
  closed(timeoutMs = DEFAULT_TIMEOUT_MS) {
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.label}: not closed within ${timeoutMs} ms; inbox: ${this.summary()}`)), timeoutMs);
    });
    return Promise.race([this._closed, timeout]).finally(() => clearTimeout(timer));
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Closing handshake (1000); resolves to the close info. Terminates after timeoutMs. */
  async close(code = 1000, reason = '') {
    if (this.closeInfo) return this.closeInfo;
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
    try {
      return await this.closed(3000);
    } catch {
      this.ws.terminate();
      return this._closed;
    }
  }

  terminate() {
    this.ws.terminate();
  }
}

/**
 * Opens a WebSocket to `node` and, by default, waits for `welcome` (which
 * is checked to be the first frame and is then kept in client.welcome) and
 * for `inbox` (checked to be the second, kept in client.inboxFrame).
 *
 * rooms: undefined leaves `rooms` out of the URL (the default room), an array
 * is joined with ',', a string is sent as-is ('' gives `rooms=`).
 * query: further query parameters (replace `user`/`rooms` when they hold them).
 */
export async function connect(node, { user, rooms, query = {}, waitWelcome = true, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  const q = { user, rooms: Array.isArray(rooms) ? rooms.join(',') : rooms, ...query };
  const url = node.wsUrl(q);
  const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs, maxPayload: 256 * 1024 * 1024 });
  const client = new ChatClient(ws, `${user ?? '?'}@${node.name}`);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`connect ${url}: no upgrade within ${timeoutMs} ms`)), timeoutMs + 500);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.once('unexpected-response', (req, res) => {
      clearTimeout(timer);
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => reject(new Error(`connect ${url}: HTTP ${res.statusCode} ${body}`)));
      res.on('error', () => reject(new Error(`connect ${url}: HTTP ${res.statusCode}`)));
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`connect ${url}: ${err.message}`));
    });
  });
  if (waitWelcome) {
    const welcome = await client.next('welcome', timeoutMs);
    assert.equal(client.frames[0], welcome, `${client.label}: welcome must be the first frame, got ${brief(client.frames[0])}`);
    client.welcome = welcome;
    // Protocol 1.1: `inbox` comes next, before any `subscribed` (or, while
    // the node's chat server restarts, an error with ref "inbox").
    const inbox = await client.next((f) => f.type === 'inbox' || (f.type === 'error' && f.ref === 'inbox'), timeoutMs);
    assert.equal(client.frames[1], inbox, `${client.label}: inbox must come right after welcome, got ${brief(client.frames[1])}`);
    client.inboxFrame = inbox;
  }
  return client;
}

/**
 * Tries a WebSocket upgrade at `url` (a ws:// or http:// URL), with extra
 * request `headers` (e.g. an Origin), and reports
 * what the server answered: { status, headers, body, json }. A successful
 * upgrade gives status 101 and the socket is closed at once.
 */
export function upgradeStatus(url, { headers = {}, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  const httpUrl = url.replace(/^ws:/, 'http:');
  return new Promise((resolve, reject) => {
    const req = http.request(httpUrl, {
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': crypto.randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    const timer = setTimeout(() => req.destroy(new Error(`upgrade ${url}: no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('upgrade', (res, socket) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: res.statusCode, headers: res.headers, body: '', json: undefined });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        clearTimeout(timer);
        let json;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, body, json });
      });
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/** Terminates every client still open (test cleanup). */
export function closeAllClients() {
  for (const c of open) c.terminate();
  open.clear();
}
