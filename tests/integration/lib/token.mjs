// Auth tokens as docs/protocol.md specifies them (and src/protocol/token.cpp
// checks them): base64url(payload) "." base64url(HMAC-SHA256(secret,
// base64url(payload))).

import crypto from 'node:crypto';

/** Signs `payload` (an object: sub, exp, rooms, ...) with `secret`. */
export function signToken(secret, payload) {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${crypto.createHmac('sha256', secret).update(body).digest('base64url')}`;
}
