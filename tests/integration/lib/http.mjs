// Minimal HTTP helpers on node:http: one request per connection (no keep-alive
// agent left open behind a test), bounded by a timeout.

import http from 'node:http';

/**
 * Sends one request and resolves to { status, headers, text, json }.
 * `json` is the parsed body, or undefined when the body is not JSON.
 * `target` is a URL, or node:http options ({ host, port, path } or
 * { socketPath, path, headers }) for what a URL cannot name.
 */
export function request(target, { method = 'GET', headers = {}, body, timeoutMs = 5000 } = {}) {
  const isUrl = typeof target === 'string' || target instanceof URL;
  const url = isUrl ? String(target) : `${target.host ?? target.socketPath}:${target.port ?? ''}${target.path}`;
  return new Promise((resolve, reject) => {
    const opts = { method, headers: { connection: 'close', ...(isUrl ? {} : target.headers), ...headers }, agent: false };
    const req = http.request(...(isUrl ? [target, opts] : [{ ...target, ...opts }]), (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`${method} ${url}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (body !== undefined) req.write(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
    req.end();
  });
}

/** GET, body parsed as JSON when it is JSON. */
export function getJson(url, opts = {}) {
  return request(url, { ...opts, method: 'GET', headers: { accept: 'application/json', ...(opts.headers || {}) } });
}

/** GET, body as text. */
export function getText(url, opts = {}) {
  return request(url, { ...opts, method: 'GET' });
}

/** POST with an empty body. */
export function post(url, opts = {}) {
  return request(url, { ...opts, method: 'POST', headers: { 'content-length': '0', ...(opts.headers || {}) } });
}

/** Parses Prometheus text format into a Map "name{labels}" -> number (comments skipped). */
export function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

/** GET /metrics of a node, parsed. */
export async function metrics(node) {
  const res = await getText(node.adminUrl('/metrics'));
  if (res.status !== 200) throw new Error(`/metrics on ${node.name}: status ${res.status}`);
  return parseMetrics(res.text);
}

/** GET /api/rooms/ROOM/history of a node: the array. */
export async function roomHistory(node, room) {
  const res = await getJson(node.url(`/api/rooms/${encodeURIComponent(room)}/history`));
  if (res.status !== 200) throw new Error(`history of ${room} on ${node.name}: status ${res.status} ${res.text}`);
  if (!Array.isArray(res.json)) throw new Error(`history of ${room} on ${node.name} is not a JSON array: ${res.text}`);
  return res.json;
}
