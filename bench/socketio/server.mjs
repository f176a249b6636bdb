// The reference a user would pick instead of chatd for the same job: a
// Socket.IO 4 server with the Redis adapter, one process per node, all of
// them sharing one redis-server (which also holds each room's history).
// bench/run.sh starts it; chat_loadgen --protocol socketio drives it.
//
// It does what chatd does for the benchmark's traffic, the way the Socket.IO
// documentation suggests: a connection names its user and rooms in the
// handshake query and joins them; it gets each room's recent history; a
// "message" event is stored in Redis (RPUSH + LTRIM, the last 50 kept),
// broadcast to everyone else in the room on every process (the adapter
// publishes it through Redis), and acknowledged to the sender with the
// Socket.IO ack callback once Redis stored it. Frames carry the same JSON
// objects as chatd's protocol, so one load generator reads both.
//
// Environment: PORT (HTTP/WebSocket), REDIS_URL (redis://127.0.0.1:6379),
// NODE_NAME (message id prefix), HISTORY (messages kept per room, 50).

import { createServer } from 'node:http';

import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import { Server } from 'socket.io';

const port = Number(process.env.PORT || 3000);
const name = process.env.NODE_NAME || `sio${process.pid}`;
const history = Number(process.env.HISTORY || 50);

const pub = createClient({ url: process.env.REDIS_URL || 'redis://127.0.0.1:6379' });
const sub = pub.duplicate();
for (const c of [pub, sub]) c.on('error', (err) => console.error(`${name}: redis: ${err.message}`));
await Promise.all([pub.connect(), sub.connect()]);

const http = createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404).end();
});
const io = new Server(http, {
  adapter: createAdapter(pub, sub),
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 1 << 20,
});

let seq = 0;
const key = (room) => `history:${room}`;

io.on('connection', async (socket) => {
  const user = String(socket.handshake.query.user || 'anon');
  const rooms = String(socket.handshake.query.rooms || '').split(',').filter(Boolean);
  socket.on('message', async (m, ack) => {
    const reply = typeof ack === 'function' ? ack : () => {};
    if (!m || typeof m.room !== 'string' || typeof m.text !== 'string' || !socket.rooms.has(m.room)) {
      reply({ type: 'error', code: 'bad_message', ref: m?.client_id ?? null });
      return;
    }
    const msg = { type: 'message', room: m.room, id: `${name}-${++seq}`, user, text: m.text, ts: new Date().toISOString() };
    try {
      await pub.multi().rPush(key(m.room), JSON.stringify(msg)).lTrim(key(m.room), -history, -1).exec();
    } catch (err) {
      reply({ type: 'error', code: 'internal', ref: m.client_id ?? null });
      return;
    }
    socket.to(m.room).emit('chat', msg);
    reply({ type: 'ack', client_id: m.client_id, id: msg.id, ts: msg.ts });
  });
  for (const room of rooms) {
    socket.join(room);
    const kept = await pub.lRange(key(room), -history, -1);
    socket.emit('chat', { type: 'history', room, messages: kept.map((s) => JSON.parse(s)) });
  }
});

http.listen(port, '127.0.0.1', () => console.log(`${name}: listening on 127.0.0.1:${port}`));
const stop = () => {
  io.close();
  Promise.allSettled([pub.quit(), sub.quit()]).finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
