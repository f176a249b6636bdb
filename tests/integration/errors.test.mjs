// Refused requests: every error code, their precedence, error.ref, the
// limits (text length in code points, rooms per connection, rate, frame
// size), binary frames, bad upgrades, and a burst of garbage frames.
//
// Node "limits" runs with small limits. Its rate is 0.2 per second: one token
// per 5 s, so that "the burst is spent" holds on a slow machine too.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { connect, unique, upgradeStatus } from './lib/client.mjs';
import { getText, roomHistory } from './lib/http.mjs';
import { startNode } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';

const CODES = ['bad_json', 'bad_request', 'not_subscribed', 'too_large', 'rate_limited', 'too_many_rooms', 'unauthorized', 'internal'];

let lim; // --max-text-chars 10 --max-rooms 2 --rate-per-s 0.2 --burst 3
let tiny; // --max-frame-bytes 1024

before(async () => {
  [lim, tiny] = await Promise.all([
    startNode({ name: 'limits', flags: { 'max-text-chars': 10, 'max-rooms': 2, 'rate-per-s': 0.2, burst: 3 } }),
    startNode({ name: 'frames', flags: { 'max-frame-bytes': 1024 } }),
  ]);
});
after(cleanup);

/** A client on `lim` subscribed to one fresh room (its join frames consumed). */
async function joined(user = unique('u')) {
  const room = unique('room');
  const c = await connect(lim, { user, rooms: [room] });
  await c.awaitJoined([room]);
  return { c, room };
}

/** A second client in `room`; `c`'s presence frame about it is taken out of c's inbox. */
async function observer(c, room) {
  const o = await connect(lim, { user: unique('obs'), rooms: [room] });
  await o.awaitJoined([room]);
  await c.next({ type: 'presence', room, user: o.welcome.user, state: 'join' });
  return o;
}

/**
 * Sends `frame` (an object, sent as JSON, or a raw string) and asserts that
 * the answer is exactly one `error` with `code` (and `ref`, when given), that
 * nothing else happens, and that the connection still answers a ping.
 */
async function expectError(c, frame, code, ref) {
  const raw = typeof frame === 'string' ? frame : JSON.stringify(frame);
  const label = raw.length > 80 ? `${raw.slice(0, 60)}… (${raw.length} bytes)` : raw;
  await c.sendRaw(raw);
  const err = await c.next('error');
  assert.equal(err.code, code, `code for ${label}`);
  assert.equal(typeof err.message, 'string', `message for ${label}`);
  if (ref !== undefined) assert.equal(err.ref, ref, `ref for ${label}`);
  await c.ping();
  assert.deepEqual(c.drain(), [], `nothing but one error for ${label}`);
  return err;
}

test('welcome.limits reflects the flags', async () => {
  const { c } = await joined();
  assert.equal(c.welcome.limits.max_text_chars, 10);
  assert.equal(c.welcome.limits.max_rooms, 2);
  assert.equal(c.welcome.limits.rate_per_s, 0.2);
  assert.equal(c.welcome.limits.burst, 3);
  const t = await connect(tiny, { user: unique('u'), rooms: '' });
  assert.equal(t.welcome.limits.max_frame_bytes, 1024);
});

test('text that is not JSON gets bad_json', async () => {
  const { c } = await joined();
  for (const raw of ['hello', '', ' ', '{"type":"ping"', '{type:"ping"}', "{'type':'ping'}", '{"type":"ping",}', 'nul', '[1,2']) {
    await expectError(c, raw, 'bad_json');
  }
  // Not JSON however deep it goes before it breaks (a nesting limit must not turn these into bad_request).
  await expectError(c, '['.repeat(30000), 'bad_json');
  await expectError(c, '{"a":'.repeat(10000), 'bad_json');
  await expectError(c, '['.repeat(10000) + ']'.repeat(9999), 'bad_json');
});

test('deeply nested JSON (10000 levels) is answered and the node survives it', async () => {
  const { c } = await joined();
  await expectError(c, '['.repeat(10000) + ']'.repeat(10000), 'bad_request');
  await expectError(c, '{"a":'.repeat(10000) + '1' + '}'.repeat(10000), 'bad_request');
  // `t` may be any JSON value: a pong, or a refusal of the nesting, are both fine; dying is not.
  const deepT = '['.repeat(10000) + ']'.repeat(10000);
  await c.sendRaw(`{"type":"ping","t":${deepT}}`);
  const answer = await c.next((f) => f.type === 'pong' || f.type === 'error');
  if (answer.type === 'error') assert.equal(answer.code, 'bad_request');
  else {
    let depth = 0;
    for (let x = answer.t; Array.isArray(x); x = x[0]) depth += 1;
    assert.equal(depth, 10000, 'pong echoes t');
  }
  await c.ping();
});

test('JSON that is not an object gets bad_request', async () => {
  const { c } = await joined();
  for (const raw of ['[1,2]', '[]', '42', '-1.5e3', '"message"', 'null', 'true', '[{"type":"ping","t":1}]']) {
    await expectError(c, raw, 'bad_request');
  }
});

test('a missing, unknown or wrongly cased type gets bad_request (ref = the type when it is one)', async () => {
  const { c, room } = await joined();
  await expectError(c, {}, 'bad_request');
  await expectError(c, { t: 1 }, 'bad_request');
  await expectError(c, { type: 5 }, 'bad_request');
  await expectError(c, { type: null }, 'bad_request');
  await expectError(c, { type: ['ping'] }, 'bad_request');
  await expectError(c, { type: 'nope' }, 'bad_request', 'nope');
  await expectError(c, { type: '' }, 'bad_request');
  await expectError(c, { type: 'PING', t: 1 }, 'bad_request', 'PING');
  await expectError(c, { type: 'Message', room, text: 'hi' }, 'bad_request', 'Message');
  await expectError(c, { type: 'message ', room, text: 'hi' }, 'bad_request', 'message ');
  assert.deepEqual(await roomHistory(lim, room), [], 'nothing was published');
});

test('missing or mistyped fields, empty text and bad room names get bad_request', async () => {
  const { c, room } = await joined();
  const obs = await observer(c, room);
  const cases = [
    // message
    [{ type: 'message', text: 'hi' }, 'message'],
    [{ type: 'message', room }, 'message'],
    [{ type: 'message', room: 5, text: 'hi' }, 'message'],
    [{ type: 'message', room: [room], text: 'hi' }, 'message'],
    [{ type: 'message', room, text: 5 }, 'message'],
    [{ type: 'message', room, text: ['hi'] }, 'message'],
    [{ type: 'message', room, text: null }, 'message'],
    [{ type: 'message', room, text: '' }, 'message'],
    [{ type: 'message', room, text: '', client_id: 'cid-empty' }, 'cid-empty'],
    [{ type: 'message', room, text: 'hi', client_id: 7 }],
    [{ type: 'message', room, text: 'hi', client_id: 'x'.repeat(65) }],
    [{ type: 'message', room: 'bad room', text: 'hi' }, 'message'],
    [{ type: 'message', room: '', text: 'hi' }, 'message'],
    // subscribe / unsubscribe
    [{ type: 'subscribe' }, 'subscribe'],
    [{ type: 'subscribe', rooms: room }, 'subscribe'],
    [{ type: 'subscribe', rooms: { [room]: true } }, 'subscribe'],
    [{ type: 'subscribe', rooms: [1] }, 'subscribe'],
    [{ type: 'subscribe', rooms: ['bad room'] }, 'subscribe'],
    [{ type: 'subscribe', rooms: ['a'.repeat(65)] }, 'subscribe'],
    [{ type: 'subscribe', rooms: [''] }, 'subscribe'],
    [{ type: 'subscribe', rooms: ['caf\u00e9'] }, 'subscribe'],
    [{ type: 'subscribe', rooms: ['a/b'] }, 'subscribe'],
    [{ type: 'subscribe', rooms: [room], since: 'x' }, 'subscribe'],
    [{ type: 'subscribe', rooms: [room], since: { [room]: 5 } }, 'subscribe'],
    [{ type: 'unsubscribe' }, 'unsubscribe'],
    [{ type: 'unsubscribe', rooms: room }, 'unsubscribe'],
    [{ type: 'unsubscribe', rooms: ['bad room'] }, 'unsubscribe'],
    // typing / read
    [{ type: 'typing', room }, 'typing'],
    [{ type: 'typing', room, state: 'maybe' }, 'typing'],
    [{ type: 'typing', room, state: 1 }, 'typing'],
    [{ type: 'typing', state: 'start' }, 'typing'],
    [{ type: 'read', room }, 'read'],
    [{ type: 'read', room, id: 5 }, 'read'],
    [{ type: 'read', id: 'x' }, 'read'],
  ];
  for (const [frame, ref] of cases) await expectError(c, frame, 'bad_request', ref);
  assert.deepEqual(await roomHistory(lim, room), [], 'nothing was published');
  await obs.expectNothing((f) => ['message', 'typing', 'read_receipt', 'presence'].includes(f.type));
});

test('text over max_text_chars, counted in code points, gets too_large', async () => {
  const { c, room } = await joined();
  const obs = await observer(c, room);

  const tenEmoji = '\u{1F600}'.repeat(10); // 10 code points, 20 UTF-16 units, 40 bytes
  const ok = await c.say(room, tenEmoji);
  const got = await obs.next({ type: 'message', id: ok.id });
  assert.equal(got.text, tenEmoji);
  const mixed = 'a\u00e9\u20ac\u{1F600}bcdefg'; // 10 code points of 1 to 4 bytes
  await c.say(room, mixed);

  await expectError(c, { type: 'message', room, text: '\u{1F600}'.repeat(11), client_id: 'big-1' }, 'too_large', 'big-1');
  await expectError(c, { type: 'message', room, text: 'a'.repeat(11) }, 'too_large', 'message');
  await expectError(c, { type: 'message', room, text: mixed + 'h' }, 'too_large');
  const texts = (await roomHistory(lim, room)).map((m) => m.text);
  assert.deepEqual(texts, [tenEmoji, mixed]);
});

test('message, typing and read for a room not held get not_subscribed', async () => {
  const { c } = await joined();
  const elsewhere = unique('elsewhere');
  const member = await connect(lim, { user: unique('member'), rooms: [elsewhere] });
  await member.awaitJoined([elsewhere]);
  await expectError(c, { type: 'message', room: elsewhere, text: 'hi', client_id: 'ns-1' }, 'not_subscribed', 'ns-1');
  await expectError(c, { type: 'message', room: elsewhere, text: 'hi' }, 'not_subscribed', 'message');
  await expectError(c, { type: 'typing', room: elsewhere, state: 'start' }, 'not_subscribed', 'typing');
  await expectError(c, { type: 'read', room: elsewhere, id: 'x' }, 'not_subscribed', 'read');
  await member.expectNothing((f) => ['message', 'typing', 'read_receipt'].includes(f.type));
});

test('a frame wrong in several ways gets the first of bad_json, bad_request, too_large, not_subscribed, rate_limited', async () => {
  const { c, room } = await joined();
  const notHeld = unique('not-held');
  const long = 'x'.repeat(11);
  // bad_request before too_large
  await expectError(c, { type: 'message', room: 5, text: long }, 'bad_request');
  await expectError(c, { type: 'message', room, text: long, client_id: 7 }, 'bad_request');
  // bad_request before not_subscribed
  await expectError(c, { type: 'message', room: notHeld, text: '' }, 'bad_request');
  await expectError(c, { type: 'typing', room: notHeld, state: 'maybe' }, 'bad_request');
  await expectError(c, { type: 'message', room: 'bad room', text: 'hi' }, 'bad_request');
  // too_large before not_subscribed
  await expectError(c, { type: 'message', room: notHeld, text: long, client_id: 'p-1' }, 'too_large', 'p-1');

  // Spend the burst (3), then: too_large and not_subscribed still win over rate_limited.
  for (let i = 0; i < 3; i++) await c.say(room, `spend ${i}`);
  await expectError(c, { type: 'message', room, text: long, client_id: 'p-2' }, 'too_large', 'p-2');
  await expectError(c, { type: 'message', room: notHeld, text: 'hi', client_id: 'p-3' }, 'not_subscribed', 'p-3');
  await expectError(c, { type: 'message', room, text: 'hi', client_id: 'p-4' }, 'rate_limited', 'p-4');
});

test('rate limit: the burst passes, the next publish is refused and never delivered; retries and refused frames cost nothing', async () => {
  const { c, room } = await joined();
  const obs = await observer(c, room);

  // Refused frames do not spend tokens.
  await expectError(c, { type: 'message', room, text: '' }, 'bad_request');
  await expectError(c, { type: 'message', room, text: 'x'.repeat(11) }, 'too_large');
  await expectError(c, { type: 'message', room: unique('nh'), text: 'x' }, 'not_subscribed');

  const a1 = await c.say(room, 'one', { clientId: 'rl-1' });
  // A deduplicated retry costs nothing.
  assert.equal((await c.say(room, 'one', { clientId: 'rl-1' })).id, a1.id);
  assert.equal((await c.say(room, 'one', { clientId: 'rl-1' })).id, a1.id);
  const a2 = await c.say(room, 'two', { clientId: 'rl-2' });
  const a3 = await c.say(room, 'three', { clientId: 'rl-3' });
  await expectError(c, { type: 'message', room, text: 'four', client_id: 'rl-4' }, 'rate_limited', 'rl-4');

  for (const a of [a1, a2, a3]) await obs.next({ type: 'message', id: a.id });
  await obs.expectNothing('message');
  assert.equal(obs.seen({ type: 'message', text: 'four' }).length, 0);
  assert.deepEqual(
    (await roomHistory(lim, room)).map((m) => m.text),
    ['one', 'two', 'three'],
  );
});

test('a connection holds at most max_rooms rooms: one more gets too_many_rooms', async () => {
  const [r1, r2, r3] = [unique('mr'), unique('mr'), unique('mr')];
  const c = await connect(lim, { user: unique('u'), rooms: [r1, r2] });
  await c.awaitJoined([r1, r2]);

  await expectError(c, { type: 'subscribe', rooms: [r3] }, 'too_many_rooms', 'subscribe');
  await expectError(c, { type: 'message', room: r3, text: 'hi' }, 'not_subscribed', 'message');

  // A room already held does not count twice.
  await c.subscribe([r1]);
  await c.send({ type: 'unsubscribe', rooms: [r2] });
  assert.equal((await c.next('unsubscribed')).room, r2);
  await c.subscribe([r3]);
  await c.say(r3, 'in r3 now');
});

test('error.ref is the client_id when the request has one, else its type', async () => {
  const { c } = await joined();
  const notHeld = unique('nh');
  await expectError(c, { type: 'message', room: notHeld, text: 'x', client_id: 'ref-1' }, 'not_subscribed', 'ref-1');
  await expectError(c, { type: 'message', room: notHeld, text: 'x' }, 'not_subscribed', 'message');
  await expectError(c, { type: 'typing', room: notHeld, state: 'start' }, 'not_subscribed', 'typing');
  await expectError(c, { type: 'subscribe', rooms: 'x' }, 'bad_request', 'subscribe');
});

test('a binary frame gets bad_request and the connection stays open', async () => {
  const { c } = await joined();
  await c.sendRaw(Buffer.from(JSON.stringify({ type: 'ping', t: 'binary' })), { binary: true });
  const err = await c.next('error');
  assert.equal(err.code, 'bad_request');
  await c.ping();
  assert.equal(c.seen({ type: 'pong', t: 'binary' }).length, 0, 'a binary frame is not executed');
  assert.deepEqual(c.drain(), []);
});

/** A ping frame of exactly `bytes` bytes. */
function pingOfSize(bytes) {
  const shell = JSON.stringify({ type: 'ping', t: '' });
  return JSON.stringify({ type: 'ping', t: 'p'.repeat(bytes - shell.length) });
}

test('a frame over max_frame_bytes closes the connection with 1009; one of exactly that size is fine', async () => {
  const c = await connect(tiny, { user: unique('big'), rooms: '' });
  const exact = pingOfSize(1024);
  assert.equal(Buffer.byteLength(exact), 1024);
  await c.sendRaw(exact);
  const pong = await c.next('pong');
  assert.equal(pong.t.length, 1024 - JSON.stringify({ type: 'ping', t: '' }).length);

  const over = pingOfSize(2000);
  await c.sendRaw(over);
  const info = await c.closed();
  assert.equal(info.code, 1009);

  const again = await connect(tiny, { user: unique('after'), rooms: '' });
  await again.ping();
});

test('bad upgrades are refused with 400 and a JSON {error, message} body; good ones upgrade', async () => {
  const url = (query) => lim.wsUrl(query);
  const bad = [
    ['no user', {}],
    ['user= empty', { user: '' }],
    ['user with a space', { user: 'bad user' }],
    ['user with a slash', { user: 'a/b' }],
    ['user with a non-ASCII letter', { user: 'j\u00f6rg' }],
    ['user with a colon', { user: 'a:b' }],
    ['user of 33 characters', { user: 'u'.repeat(33) }],
    ['room name with a space', { user: 'ok', rooms: 'bad room' }],
    ['room name of 65 characters', { user: 'ok', rooms: 'r'.repeat(65) }],
    ['empty room name in the list', { user: 'ok', rooms: 'a,,b' }],
    ['more rooms than max_rooms (2)', { user: 'ok', rooms: 'a,b,c' }],
  ];
  for (const [what, query] of bad) {
    const res = await upgradeStatus(url(query));
    assert.equal(res.status, 400, `${what}: status`);
    assert.equal(typeof res.json, 'object', `${what}: JSON body, got ${res.body}`);
    assert.ok(CODES.includes(res.json.error), `${what}: error code ${res.json.error}`);
    assert.equal(typeof res.json.message, 'string', `${what}: message`);
  }
  const good = [
    ['user of 32 characters', { user: 'u'.repeat(32) }],
    ['user with every allowed kind of character', { user: 'Az09_.-' }],
    ['room names with every allowed kind of character', { user: 'ok', rooms: 'Az09_.:-,lobby' }],
    ['room name of 64 characters', { user: 'ok', rooms: 'r'.repeat(64) }],
    ['max_rooms rooms', { user: 'ok', rooms: 'a,b' }],
    ['rooms= empty', { user: 'ok', rooms: '' }],
  ];
  for (const [what, query] of good) {
    const res = await upgradeStatus(url(query));
    assert.equal(res.status, 101, `${what}: status (body ${res.body})`);
  }
});

// ------------------------------------------------------------------ garbage

/** mulberry32: a small seeded PRNG, so that a failing run can be repeated with FUZZ_SEED. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('300 garbage frames leave the node alive and serving', { timeout: 90_000 }, async (t) => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
  t.diagnostic(`FUZZ_SEED=${seed}`);
  const rnd = prng(seed);
  const int = (n) => Math.floor(rnd() * n);
  const pick = (xs) => xs[int(xs.length)];
  const room = unique('fuzz');

  const randomValue = (depth = 0) => {
    switch (int(depth > 2 ? 6 : 8)) {
      case 0: return int(1e9) - 5e8;
      case 1: return rnd() * 1e300;
      case 2: return null;
      case 3: return rnd() < 0.5;
      case 4: return pick(['', 'x', room, 'lobby', '\u0000', '\u{1F600}', 'a'.repeat(int(200)), 'start', 'stop']);
      case 5: return String.fromCharCode(...Array.from({ length: int(20) }, () => int(0xd7ff) + 1));
      case 6: return Array.from({ length: int(4) }, () => randomValue(depth + 1));
      default: return Object.fromEntries(Array.from({ length: int(4) }, () => [pick(['type', 'room', 'rooms', 'text', 'id', 't', 'since', 'state', 'client_id', 'x']), randomValue(depth + 1)]));
    }
  };
  const validFrames = () => [
    { type: 'ping', t: 1 },
    { type: 'message', room, text: 'hi', client_id: 'f' },
    { type: 'subscribe', rooms: [room], since: { [room]: 'x' } },
    { type: 'typing', room, state: 'start' },
    { type: 'read', room, id: 'x' },
    { type: 'unsubscribe', rooms: [room] },
  ];

  // Each generator gives [payload, expectation]; expectation 'error' means one
  // error frame with a code in the list, 'error-or-1007' means that or a close
  // with 1007 (invalid UTF-8), 'any' means no assertion on the answer.
  const generators = [
    () => [Buffer.from(Array.from({ length: 1 + int(200) }, () => int(256))), 'error-or-1007', ['bad_json', 'bad_request']],
    () => ['~' + Array.from({ length: int(300) }, () => String.fromCharCode(32 + int(95))).join(''), 'error', ['bad_json']],
    () => {
      const s = JSON.stringify(pick(validFrames()));
      return [s.slice(0, int(s.length)), 'error', ['bad_json']];
    },
    () => ['['.repeat(10000) + ']'.repeat(10000), 'error', ['bad_json', 'bad_request']],
    () => ['{"a":'.repeat(10000) + '1' + '}'.repeat(10000), 'error', ['bad_json', 'bad_request']],
    () => ['['.repeat(30000), 'error', ['bad_json']],
    () => ['9'.repeat(5000), 'error', ['bad_json', 'bad_request']],
    () => [`{"type":"message","room":"${room}","text":"x","client_id":1e400}`, 'error', ['bad_json', 'bad_request']],
    () => [pick(['{"type":"ping","t":1e999999}', '{"type":"ping","t":-1e-999999}', '{"type":"ping","t":123456789012345678901234567890}']), 'any'],
    () => ['{"type":"ping","t":"\\ud800"}', 'any'],
    () => ['{"type":"message","room":"' + room + '","text":"\\u0000\\udfff"}', 'any'],
    () => [JSON.stringify({ ...pick(validFrames()), [pick(['type', 'room', 'rooms', 'text', 'id', 'since', 'state', 'client_id'])]: randomValue() }), 'any'],
    () => [JSON.stringify(randomValue()), 'any'],
    () => [Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, pick([0xff, 0xc0, 0xed]), pick([0xaf, 0xa0, 0x80]), 0x80, 0x22, 0x7d]), 'error-or-1007', ['bad_json', 'bad_request']],
  ];

  let c = null;
  let reconnects = 0;
  const wrong = []; // answers that break the protocol; reported after the survival checks
  const fresh = async () => {
    c = await connect(lim, { user: unique('fuzzer'), rooms: [room] });
    await c.awaitJoined([room]);
  };
  await fresh();
  for (let i = 0; i < 300; i++) {
    if (!c.isOpen) {
      reconnects += 1;
      await fresh();
    }
    const [payload, expect, codes] = pick(generators)();
    const what = `frame ${i} (${expect}): ${String(payload).slice(0, 60)}`;
    await c.sendRaw(payload);
    if (expect === 'any') {
      try {
        await c.ping();
      } catch (err) {
        assert.fail(`${what}: the connection died: ${err.message}`);
      }
      c.drain();
      continue;
    }
    let err;
    try {
      err = await c.next('error');
    } catch (e) {
      if (!c.closeInfo) throw new Error(`${what}: ${e.message}`);
      if (expect !== 'error-or-1007' || c.closeInfo.code !== 1007) wrong.push(`${what}: closed ${JSON.stringify(c.closeInfo)}`);
      continue;
    }
    if (!codes.includes(err.code)) wrong.push(`${what}: error code ${err.code}, expected one of ${codes}`);
  }
  t.diagnostic(`reconnects after closes: ${reconnects}`);

  assert.ok(lim.running, 'the node process is alive');
  assert.equal((await getText(lim.url('/healthz'))).status, 200);
  const r = unique('fine');
  const a = await connect(lim, { user: unique('after'), rooms: [r] });
  const b = await connect(lim, { user: unique('after'), rooms: [r] });
  await a.awaitJoined([r]);
  await b.awaitJoined([r]);
  const ack = await a.say(r, 'still here');
  const m = await b.next({ type: 'message', id: ack.id });
  assert.equal(m.text, 'still here');
  await a.ping();

  assert.deepEqual(wrong, [], 'answers to the garbage frames');
});
