// HTTP framing the node must refuse rather than guess: a Transfer-Encoding
// whose last coding is not chunked (found by tests/fuzz/http_fuzz; Beast
// alone reads such a request as bodyless and the rest of the bytes as the
// next request, a request-smuggling shape behind a proxy), and a body over
// the 64 KiB limit (which the node used to apply to a parser it never read
// with, leaving Beast's default of 1 MiB).

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before } from 'node:test';

import { HOST, startNode } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';

let node;

before(async () => {
  node = await startNode({ name: 'framing' });
});
after(cleanup);

/** Sends raw bytes, returns everything the node answers until it closes (bounded). */
function raw(bytes, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port: node.httpPort });
    let got = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got: ${JSON.stringify(got)}`));
    }, timeoutMs);
    sock.on('data', (d) => (got += d.toString('latin1')));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    sock.end(bytes);
  });
}

test('a Transfer-Encoding not ending in chunked gets 400 bad_request and a close', async () => {
  const answer = await raw(
    'GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunking: chunked\r\n\r\n' +
      '5\r\nhello\r\n0\r\n\r\n',
  );
  const [head, body] = answer.split('\r\n\r\n');
  assert.match(head, /^HTTP\/1\.1 400 /);
  assert.equal(JSON.parse(body).error, 'bad_request');
  // One answer only: the bytes after the header were not read as a request.
  assert.equal(answer.match(/HTTP\/1\.1 /g).length, 1);
});

test('a chunked request is still framed and answered', async () => {
  const answer = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n');
  assert.match(answer, /^HTTP\/1\.1 200 /);
});

test('a body over 64 KiB is refused with 413 too_large as soon as its length is known', async () => {
  // Only the header is sent: the node must answer from Content-Length alone.
  const answer = await raw('POST /api/cluster HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n');
  const [head, body] = answer.split('\r\n\r\n');
  assert.match(head, /^HTTP\/1\.1 413 /);
  assert.equal(JSON.parse(body).error, 'too_large');
});

test('a body of exactly 64 KiB is read and answered', async () => {
  const body = 'x'.repeat(64 * 1024);
  const answer = await raw(`POST /api/cluster HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  assert.match(answer, /^HTTP\/1\.1 [2-4]\d\d /);
  assert.doesNotMatch(answer, /^HTTP\/1\.1 413 /);
});
