// Profiles (display name and status) on three nodes with on-disk stores:
// GET and PUT /api/users/USER/profile, a write on one node read on every
// node, the last writer winning everywhere, bad input refused with nothing
// stored, a node that was down catching up, every node SIGKILLed and
// started again keeping profiles, and with an auth secret only a user's own
// token writing their profile.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';

import { CONVERGE_MS } from './lib/checks.mjs';
import { unique } from './lib/client.mjs';
import { getJson, request } from './lib/http.mjs';
import { cluster, startNode, waitFor, waitPeerCount } from './lib/node.mjs';
import { signToken } from './lib/token.mjs';
import { cleanup, test } from './lib/test.mjs';

let nodes;
const dirs = [];

before(async () => {
  for (let i = 0; i < 3; i++) dirs.push(fs.mkdtempSync(path.join(os.tmpdir(), `chatd-profiles-${i + 1}-`)));
  nodes = await cluster(3, { prefix: 'pf', dataDirs: dirs });
});
after(async () => {
  await cleanup();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const url = (node, user, query = '') => node.url(`/api/users/${encodeURIComponent(user)}/profile${query}`);

function put(node, user, body, { headers = {}, query = '' } = {}) {
  return request(url(node, user, query), { method: 'PUT', body, headers: { 'content-type': 'application/json', ...headers } });
}

/** Waits until `node` serves `want` (name and status) for `user`; resolves to the profile. */
async function seenOn(node, user, want) {
  let last;
  await waitFor(
    async () => {
      last = (await getJson(url(node, user))).json;
      return last.name === want.name && last.status === want.status;
    },
    CONVERGE_MS,
    { interval: 100, what: () => `${user}'s profile on ${node.name} to be ${JSON.stringify(want)} (is ${JSON.stringify(last)})` },
  );
  return last;
}

test('a user without a profile has empty fields; a PUT on one node is read on every node', async () => {
  const u = unique('ann');
  const empty = await getJson(url(nodes[1], u));
  assert.equal(empty.status, 200);
  assert.deepEqual(empty.json, { user: u, name: '', status: '', updated: null });
  const res = await put(nodes[0], u, { name: 'Ann Example', status: 'on call — ☎' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.name, 'Ann Example');
  assert.match(res.json.updated, /^\d{4}-\d\d-\d\dT/);
  for (const n of nodes) await seenOn(n, u, { name: 'Ann Example', status: 'on call — ☎' });
});

test('the last write wins on every node, whichever node took it', async () => {
  const u = unique('bob');
  await put(nodes[0], u, { name: 'first', status: 'a' });
  for (const n of nodes) await seenOn(n, u, { name: 'first', status: 'a' });
  await put(nodes[2], u, { name: 'second' }); // status left out: cleared
  await put(nodes[1], u, { name: 'third', status: 'c' });
  for (const n of nodes) await seenOn(n, u, { name: 'third', status: 'c' });
});

test('bad input is refused with a clear error and nothing is stored', async () => {
  const u = unique('cat');
  await put(nodes[0], u, { name: 'kept', status: 'kept' });
  const cases = [
    [{ name: 'x'.repeat(65) }, 'too_large', /name: at most 64/],
    [{ name: '😀'.repeat(64), status: 's'.repeat(141) }, 'too_large', /status: at most 140/],
    [{ name: 5 }, 'bad_request', /name must be a string/],
    [['name'], 'bad_request', /JSON object/],
    ['{"name": ', 'bad_json', /not valid JSON/],
  ];
  for (const [body, code, message] of cases) {
    const res = await put(nodes[0], u, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.json.error, code, JSON.stringify(body));
    assert.match(res.json.message, message);
  }
  // 64 code points are fine, even of four bytes each.
  assert.equal((await put(nodes[1], unique('emoji'), { name: '😀'.repeat(64) })).status, 200);
  assert.equal((await getJson(url(nodes[0], u))).json.name, 'kept');
  assert.equal((await getJson(nodes[0].url('/api/users/no%20such/profile'))).status, 400);
  assert.equal((await request(url(nodes[0], u), { method: 'DELETE' })).status, 405);
});

test('a node that was down gets the profiles written meanwhile when it comes back', { timeout: 60_000 }, async () => {
  const u = unique('dan');
  await nodes[2].crash();
  assert.equal((await put(nodes[0], u, { name: 'while you were out' })).status, 200);
  await nodes[2].start();
  await waitPeerCount(nodes[2], 2);
  await seenOn(nodes[2], u, { name: 'while you were out', status: '' });
});

test('every node SIGKILLed and started again: profiles are kept', { timeout: 90_000 }, async () => {
  const u = unique('eve');
  await put(nodes[1], u, { name: 'Eve', status: 'durable' });
  for (const n of nodes) await seenOn(n, u, { name: 'Eve', status: 'durable' });
  await Promise.all(nodes.map((n) => n.crash()));
  await Promise.all(nodes.map((n) => n.start()));
  for (const n of nodes) assert.equal((await getJson(url(n, u))).json.status, 'durable', n.name);
});

test('with an auth secret only a token of the user writes the profile; anyone reads it', async () => {
  const secret = 'profile-secret-' + unique('s');
  const node = await startNode({ name: 'pfauth', flags: { 'auth-secret': secret } });
  const u = unique('fay');
  const exp = Math.floor(Date.now() / 1000) + 600;
  assert.equal((await put(node, u, { name: 'x' })).status, 401);
  const other = signToken(secret, { sub: unique('gus'), exp });
  assert.equal((await put(node, u, { name: 'x' }, { headers: { authorization: `Bearer ${other}` } })).status, 403);
  const forged = signToken('wrong', { sub: u, exp });
  assert.equal((await put(node, u, { name: 'x' }, { query: `?token=${forged}` })).status, 401);
  assert.equal((await getJson(url(node, u))).json.name, '');
  const own = signToken(secret, { sub: u, exp });
  assert.equal((await put(node, u, { name: 'Fay' }, { query: `?token=${own}` })).status, 200);
  assert.equal((await getJson(url(node, u))).json.name, 'Fay');
});
